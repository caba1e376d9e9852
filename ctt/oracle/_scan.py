"""Just enough SQL scanning to find and rewrite the Flink constructs the oracle models.

No full parser: Flink SQL is rewritten in place (window TVFs, group-window
functions, temporal joins) and everything else is left for DuckDB to parse, so
expressions, CASE, filters and aggregates keep their meaning without a
hand-written evaluator. Positions always refer to the original text; the
*masked* text blanks string literals, quoted identifiers and comments (as
:mod:`ctt.sql.lexer` reads them) so keyword searches never match inside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ctt.sql.lexer import TokenKind, tokenize

_UNIT_MS = {
    "MILLISECOND": 1,
    "SECOND": 1000,
    "MINUTE": 60_000,
    "HOUR": 3_600_000,
    "DAY": 86_400_000,
}
INTERVAL = re.compile(
    r"INTERVAL\s*'\s*(?P<num>\d+(?:\.\d+)?)\s*'\s*(?P<unit>[A-Za-z]+)(?:\s*\(\s*\d+\s*\))?", re.I
)
_CLAUSES = (
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "HAVING",
    "ORDER BY",
    "LIMIT",
    "QUALIFY",
    "WINDOW",
)
_CLAUSE_RE = re.compile(
    r"\b(SELECT|FROM|WHERE|GROUP\s+BY|HAVING|ORDER\s+BY|LIMIT|QUALIFY|WINDOW|UNION|INTERSECT|EXCEPT)\b",
    re.I,
)


class SqlShapeError(ValueError):
    """The query has a shape the oracle does not model (the message says which)."""


def mask(sql: str) -> str:
    """Same length as ``sql``; literals, quoted identifiers and comments become ``_``/spaces.

    Quotes and line breaks stay, so offsets and lines in the masked text are those of ``sql``.
    """
    out: list[str] = []
    for tok in tokenize(sql):
        if tok.kind in _CLOSED:
            out.append(tok.text[0] + _blank(tok.text[1:-1], "_") + tok.text[-1])
        elif tok.kind in _OPEN:
            out.append(tok.text[0] + _blank(tok.text[1:], "_"))
        elif tok.kind in (TokenKind.COMMENT, TokenKind.UNTERMINATED_COMMENT):
            out.append(_blank(tok.text, " "))
        else:
            out.append(tok.text)
    return "".join(out)


_CLOSED = frozenset({TokenKind.STRING, TokenKind.QUOTED_IDENTIFIER})
_OPEN = frozenset({TokenKind.UNTERMINATED_STRING, TokenKind.UNTERMINATED_IDENTIFIER})
_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(text: str, fill: str) -> str:
    return _NOT_NEWLINE.sub(fill, text)


def close_paren(masked: str, open_idx: int) -> int:
    """Index of the ``)`` matching the ``(`` at ``open_idx``."""
    depth = 0
    for i in range(open_idx, len(masked)):
        c = masked[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
    raise SqlShapeError("unbalanced parentheses")


def split_top(masked: str, start: int, end: int, sep: str = ",") -> list[tuple[int, int]]:
    """Spans of ``masked[start:end]`` separated by ``sep`` at parenthesis depth 0."""
    spans, depth, s = [], 0, start
    for i in range(start, end):
        c = masked[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == sep and depth == 0:
            spans.append((s, i))
            s = i + 1
    spans.append((s, end))
    return spans


def depth_at(masked: str, start: int, end: int) -> list[int]:
    """Parenthesis depth (relative to ``start``) before each character of the range."""
    out, depth = [], 0
    for i in range(start, end):
        out.append(depth)
        c = masked[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
    return out


@dataclass(frozen=True)
class Scope:
    """One SELECT block: its span and the spans of its top-level clauses."""

    start: int
    end: int
    clauses: dict[str, tuple[int, int]]


def scope_of(masked: str, pos: int) -> Scope:
    """The innermost SELECT block containing ``pos`` (a parenthesised subquery or the whole text)."""
    depth = 0
    start, end = 0, len(masked)
    for i in range(pos - 1, -1, -1):
        c = masked[i]
        if c == ")":
            depth += 1
        elif c == "(":
            if depth == 0:
                if re.match(r"\s*SELECT\b", masked[i + 1 :], re.I):
                    start, end = i + 1, close_paren(masked, i)
                    break
            else:
                depth -= 1
    return Scope(start, end, clauses(masked, start, end))


def clauses(masked: str, start: int, end: int) -> dict[str, tuple[int, int]]:
    """Top-level clause bodies of a SELECT block (``"GROUP BY"`` -> span after the keyword)."""
    depths = depth_at(masked, start, end)
    marks: list[tuple[str, int, int]] = []
    for m in _CLAUSE_RE.finditer(masked, start, end):
        if depths[m.start() - start] != 0:
            continue
        name = re.sub(r"\s+", " ", m.group(1).upper())
        if name in ("UNION", "INTERSECT", "EXCEPT"):
            marks.append((name, m.start(), m.end()))
            break
        marks.append((name, m.start(), m.end()))
    out: dict[str, tuple[int, int]] = {}
    for i, (name, _s, e) in enumerate(marks):
        if name not in _CLAUSES or name in out:
            continue
        nxt = marks[i + 1][1] if i + 1 < len(marks) else end
        out[name] = (e, nxt)
    return out


def interval_ms(text: str) -> int:
    """``INTERVAL '10' MINUTE`` -> 600000; anything else is a shape error."""
    m = INTERVAL.fullmatch(text.strip())
    if not m:
        raise SqlShapeError(f"cannot read the interval {text.strip()!r}")
    unit = m["unit"].upper().rstrip("S")
    if unit not in _UNIT_MS:
        raise SqlShapeError(f"unsupported interval unit {m['unit']!r}")
    return round(float(m["num"]) * _UNIT_MS[unit])


def ident(text: str) -> str:
    """A column reference without quotes or qualifier: ``e.`ts``` -> ``ts``."""
    name = text.strip().split(".")[-1].strip()
    return name.strip('`"')


def find_call(
    masked: str, name: str, start: int = 0, end: int | None = None
) -> list[tuple[int, int, int]]:
    """Calls ``name(...)`` in the range: (name start, open paren, close paren)."""
    end = len(masked) if end is None else end
    out = []
    for m in re.finditer(rf"(?<![\w.$]){name}\s*\(", masked[:end], re.I):
        if m.start() < start:
            continue
        op = m.end() - 1
        out.append((m.start(), op, close_paren(masked, op)))
    return out

"""Token-level helpers the rules share: options, statements, and event-time windows."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from ctt.lint.units import LintUnit
from ctt.sql.group_windows import (
    GroupWindowError,
    legacy_window_calls,
    rewrite_group_windows,
)
from ctt.sql.lexer import Token, TokenKind, code, tokenize
from ctt.sql.statements import Statement, parse

WINDOW_TVFS = frozenset({"TUMBLE", "HOP", "CUMULATE", "SESSION"})


def tokens(sql: str) -> list[Token]:
    return code(tokenize(sql))


def options(sql: str) -> Iterator[tuple[Token, Token]]:
    """Every ``'key' = 'value'`` pair (WITH clauses, OPTIONS hints, SET): (key, value) tokens."""
    toks = tokens(sql)
    for key, eq, value in zip(toks, toks[1:], toks[2:], strict=False):
        if key.kind is TokenKind.STRING and eq.text == "=" and value.kind is TokenKind.STRING:
            yield key, value


def statements(unit: LintUnit) -> list[Statement]:
    return parse(unit.sql)


@dataclass(frozen=True)
class Window:
    """An event-time window over a table's time column, at ``offset`` of the unit's SQL."""

    offset: int
    kind: str
    table: str | None  # None: over a subquery or view ctt cannot see through
    column: str


def _tvf_windows(sql: str, base: int, at: int | None) -> Iterator[Window]:
    """``TUMBLE(TABLE t, DESCRIPTOR(col), ...)`` windows; at ``at`` when given (a rewrite's)."""
    toks = tokens(sql)
    for i, tok in enumerate(toks[:-3]):
        if tok.upper not in WINDOW_TVFS or not toks[i + 1].is_punct("("):
            continue
        table = None
        if toks[i + 2].upper == "TABLE" and toks[i + 3].is_name:
            j = i + 3
            parts = [toks[j].value]
            while j + 2 < len(toks) and toks[j + 1].is_punct(".") and toks[j + 2].is_name:
                j += 2
                parts.append(toks[j].value)
            table = parts[-1]
        for k in range(i + 2, len(toks) - 2):
            if toks[k].upper == "DESCRIPTOR" and toks[k + 1].is_punct("("):
                if toks[k + 2].is_name:
                    yield Window(
                        at if at is not None else base + tok.offset,
                        tok.upper,
                        table,
                        toks[k + 2].value,
                    )
                break


def windows(unit: LintUnit) -> Iterator[Window]:
    """The event-time windows of every statement, legacy group windows seen as their TVF."""
    for stmt in statements(unit):
        legacy = legacy_window_calls(stmt.sql)
        if not legacy:
            yield from _tvf_windows(stmt.sql, stmt.offset, None)
            continue
        try:
            rewritten = rewrite_group_windows(stmt.sql).sql
        except GroupWindowError:
            continue  # the legacy_group_window rule reports it
        yield from _tvf_windows(rewritten, stmt.offset, stmt.offset + legacy[0].offset)


@dataclass(frozen=True)
class DeclaredTable:
    """A ``CREATE TABLE`` in the SQL: its watermark column and strategy text."""

    offset: int
    watermark_column: str | None
    watermark: str | None  # the strategy as written, e.g. SOURCE_WATERMARK()


def declared_tables(unit: LintUnit) -> dict[str, DeclaredTable]:
    out: dict[str, DeclaredTable] = {}
    for stmt in statements(unit):
        toks = tokens(stmt.sql)
        words = [t.upper for t in toks[:4]]
        if words[:1] != ["CREATE"] or "TABLE" not in words:
            continue
        ti = words.index("TABLE")
        idx = ti + 1
        if [t.upper for t in toks[idx : idx + 3]] == ["IF", "NOT", "EXISTS"]:
            idx += 3
        if idx >= len(toks) or not toks[idx].is_name:
            continue
        while idx + 2 < len(toks) and toks[idx + 1].is_punct(".") and toks[idx + 2].is_name:
            idx += 2
        name = toks[idx].value
        col = strategy = None
        for a, b, c in itertools.zip_longest(toks, toks[1:], toks[2:]):
            if a is not None and a.upper == "WATERMARK" and b is not None and b.upper == "FOR":
                if c is not None and c.is_name:
                    col = c.value
                    k = toks.index(c)
                    if k + 1 < len(toks) and toks[k + 1].upper == "AS":
                        rest = toks[k + 2 : k + 5]
                        strategy = "".join(t.text for t in rest)
                break
        out[name] = DeclaredTable(stmt.offset, col, strategy)
    return out

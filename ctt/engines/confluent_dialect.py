"""What ctt changes or refuses before Flink SQL goes to Confluent Cloud.

Users write one SQL text for both engines. Confluent Cloud's Flink SQL differs
from Apache Flink's in ways that fail late and cryptically in the cloud, so
ctt checks them here, before a statement costs a compute pool minute:

* window TVFs only: the legacy ``GROUP BY TUMBLE(...)`` group windows with
  ``TUMBLE_START``/``TUMBLE_END`` do not exist there. The simple forms (one
  table in ``FROM``, one group window) are rewritten mechanically to window
  TVFs; anything else is refused with an example of the TVF form;
* no ``PROCTIME()``: refused with advice (``$rowtime`` or ``CURRENT_TIMESTAMP``);
* tables are topics: ``'connector'`` options are refused, formats must be the
  Schema Registry ones;
* ``SET``/``USE`` are client-side: folded into ``spec.properties``.

It also derives valid statement names from ctt's run-scoped names. Everything
here is a pure function over text; no SQL parser in the Python ecosystem knows
Flink's dialect, so a small tokenizer keeps string literals, quoted
identifiers and comments out of the way of the rewrites.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from ctt.engines.base import StatementError

__all__ = [
    "MAX_STATEMENT_NAME",
    "RESUMABLE_KINDS",
    "SCHEMA_REGISTRY_FORMATS",
    "STATEMENT_NAME_RE",
    "ConfluentDialectError",
    "ConfluentSql",
    "FoldedSql",
    "fold_client_side",
    "is_valid_statement_name",
    "rewrite_legacy_group_windows",
    "split_statements",
    "statement_kind",
    "statement_name",
    "to_confluent",
]

STATEMENT_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
MAX_STATEMENT_NAME = 100
SCHEMA_REGISTRY_FORMATS = frozenset({"avro-registry", "json-registry", "proto-registry", "raw"})
RESUMABLE_KINDS = frozenset({"CREATE_TABLE_AS", "INSERT_INTO", "EXECUTE_STATEMENT_SET"})

_TVF_EXAMPLE = (
    "write a window TVF instead, e.g. SELECT user_id, window_start, COUNT(*) FROM "
    "TABLE(TUMBLE(TABLE user_events, DESCRIPTOR(event_timestamp), INTERVAL '1' HOUR)) "
    "GROUP BY user_id, window_start, window_end"
)


class ConfluentDialectError(StatementError):
    """The SQL uses something Confluent Cloud's Flink SQL does not have."""


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # word, ident (backticked), string, comment, ws, punct
    text: str
    start: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^']|'')*(?:'|\Z))
  | (?P<ident>`(?:[^`]|``)*(?:`|\Z)|"(?:[^"]|"")*(?:"|\Z))
  | (?P<word>[$A-Za-z_][$A-Za-z_0-9]*|\d+(?:\.\d+)?)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokens(sql: str) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _TOKEN_RE.finditer(sql):
        kind = m.lastgroup or "punct"
        out.append(_Tok(kind, m.group(), m.start()))
    return out


def _line_of(sql: str, offset: int) -> int:
    return sql.count("\n", 0, offset) + 1


def _code(toks: list[_Tok]) -> list[int]:
    """Indexes of the tokens that are code (not whitespace or comments)."""
    return [i for i, t in enumerate(toks) if t.kind not in ("ws", "comment")]


# --------------------------------------------------------------------------- statements


def split_statements(sql: str) -> list[str]:
    """Split a script on top-level ``;`` (not inside strings, identifiers or comments)."""
    parts: list[str] = []
    current: list[str] = []
    for tok in _tokens(sql):
        if tok.kind == "punct" and tok.text == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(tok.text)
    parts.append("".join(current))
    return [p.strip() for p in parts if _has_code(p)]


def _has_code(text: str) -> bool:
    return any(t.kind not in ("ws", "comment") for t in _tokens(text))


def statement_kind(sql: str) -> str:
    """A coarse kind in Confluent's ``traits.sql_kind`` spelling (``CREATE_TABLE_AS`` ...)."""
    words = [t.upper for t in _tokens(sql) if t.kind == "word"][:6]
    head = " ".join(words)
    if head.startswith("CREATE TABLE") and "AS" in _top_level_words(sql):
        return "CREATE_TABLE_AS"
    if head.startswith("INSERT INTO") or head.startswith("INSERT OVERWRITE"):
        return "INSERT_INTO"
    if head.startswith("EXECUTE STATEMENT SET") or head.startswith("STATEMENT SET"):
        return "EXECUTE_STATEMENT_SET"
    return words[0] if words else ""


def _top_level_words(sql: str) -> set[str]:
    depth = 0
    words: set[str] = set()
    for t in _tokens(sql):
        if t.text == "(" and t.kind == "punct":
            depth += 1
        elif t.text == ")" and t.kind == "punct":
            depth -= 1
        elif t.kind == "word" and depth == 0:
            words.add(t.upper)
    return words


class FoldedSql(BaseModel):
    """A script with its client-side ``SET``/``USE`` statements turned into properties."""

    statements: list[str]
    properties: dict[str, str] = Field(default_factory=dict)


_SET_RE = re.compile(
    r"""^SET\s+(?P<k>'(?:[^']|'')*'|[\w.\-]+)\s*=\s*(?P<v>'(?:[^']|'')*'|[^\s;]+)\s*$""",
    re.IGNORECASE | re.DOTALL,
)
_USE_RE = re.compile(r"^USE\s+(?P<catalog>CATALOG\s+)?(?P<rest>.+?)\s*$", re.IGNORECASE | re.DOTALL)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'`\"":
        q = text[0]
        return text[1:-1].replace(q * 2, q)
    return text


def _split_qualified(name: str) -> list[str]:
    parts = [t.text for t in _tokens(name) if t.kind in ("word", "ident")]
    return [_unquote(p) for p in parts]


def fold_client_side(sql: str, base: dict[str, str] | None = None) -> FoldedSql:
    """Turn ``SET 'k' = 'v'`` and ``USE [CATALOG] x`` into statement properties.

    Confluent Cloud has no sessions: ``SET`` and ``USE`` are handled by its
    clients and sent as ``spec.properties``. Later statements see the
    properties of the ``SET``/``USE`` before them, as in a shell session.
    """
    props = dict(base or {})
    statements: list[str] = []
    for stmt in split_statements(sql):
        code = _strip_comments(stmt)
        if m := _SET_RE.match(code):
            props[_unquote(m["k"])] = _unquote(m["v"])
        elif code.upper().startswith("SET") and re.match(r"^SET\b", code, re.IGNORECASE):
            raise ConfluentDialectError(
                f"cannot read this SET statement: {code!r}",
                hint="write SET 'key' = 'value'",
            )
        elif (m := _USE_RE.match(code)) and not code.upper().startswith("USE MODULES"):
            names = _split_qualified(m["rest"])
            if m["catalog"]:
                if len(names) != 1:
                    raise ConfluentDialectError(f"USE CATALOG takes one name: {code!r}")
                props["sql.current-catalog"] = names[0]
            elif len(names) == 1:
                props["sql.current-database"] = names[0]
            elif len(names) == 2:
                props["sql.current-catalog"], props["sql.current-database"] = names
            else:
                raise ConfluentDialectError(f"USE takes [catalog.]database: {code!r}")
        else:
            statements.append(stmt)
    return FoldedSql(statements=statements, properties=props)


def _strip_comments(sql: str) -> str:
    return "".join(t.text for t in _tokens(sql) if t.kind != "comment").strip()


# --------------------------------------------------------------------------- names


def is_valid_statement_name(name: str) -> bool:
    return len(name) <= MAX_STATEMENT_NAME and STATEMENT_NAME_RE.fullmatch(name) is not None


def statement_name(run_scoped: str) -> str:
    """A valid Confluent statement name derived from a ctt run-scoped name.

    Lower-cases, maps every other character to ``-``, trims each dot-separated
    label to start and end alphanumeric, and when the result exceeds 100
    characters cuts it. Whenever it had to change the input it appends a hash
    of the full input, so distinct run-scoped names stay distinct.
    """
    if is_valid_statement_name(run_scoped):
        return run_scoped
    labels = []
    for raw in run_scoped.lower().split("."):
        label = re.sub(r"[^a-z0-9-]+", "-", raw)
        label = re.sub(r"-{2,}", "-", label).strip("-")
        if label:
            labels.append(label)
    name = ".".join(labels) or "ctt"
    # the mapping is lossy (case, symbols, length): a hash of the input keeps it unique
    digest = hashlib.sha256(run_scoped.encode()).hexdigest()[:8]
    keep = name[: MAX_STATEMENT_NAME - len(digest) - 1].rstrip("-.")
    name = f"{keep}-{digest}"
    assert is_valid_statement_name(name), name
    return name


# --------------------------------------------------------------------------- checks


class ConfluentSql(BaseModel):
    """One statement ready for Confluent Cloud, with what ctt changed on the way."""

    sql: str
    rewrites: list[str] = Field(default_factory=list)


def to_confluent(sql: str) -> ConfluentSql:
    """Check one statement for Confluent Cloud and rewrite what is mechanical."""
    _refuse_proctime(sql)
    _refuse_connector_options(sql)
    rewritten = rewrite_legacy_group_windows(sql)
    rewrites = [] if rewritten == sql else ["legacy group window -> window TVF"]
    return ConfluentSql(sql=rewritten, rewrites=rewrites)


def _refuse_proctime(sql: str) -> None:
    toks = _tokens(sql)
    code = _code(toks)
    for n, i in enumerate(code):
        if toks[i].upper == "PROCTIME" and n + 1 < len(code) and toks[code[n + 1]].text == "(":
            raise ConfluentDialectError(
                "PROCTIME() does not exist in Confluent Cloud Flink SQL",
                sql_line=_line_of(sql, toks[i].start),
                hint="use the $rowtime column (the Kafka record time) or CURRENT_TIMESTAMP; "
                "processing-time windows are not available there",
            )


def _refuse_connector_options(sql: str) -> None:
    toks = _tokens(sql)
    code = _code(toks)
    for n, i in enumerate(code[:-2]):
        tok = toks[i]
        if tok.kind != "string" or toks[code[n + 1]].text != "=":
            continue
        key = _unquote(tok.text).lower()
        value_tok = toks[code[n + 2]]
        value = _unquote(value_tok.text).lower() if value_tok.kind == "string" else ""
        line = _line_of(sql, tok.start)
        if key == "connector":
            raise ConfluentDialectError(
                f"'connector' = '{value}' is not allowed in Confluent Cloud: "
                "tables are Kafka topics",
                sql_line=line,
                hint="drop the connector options; set 'value.format' to avro-registry, "
                "json-registry or proto-registry",
            )
        if key in ("format", "key.format", "value.format") and value not in (
            SCHEMA_REGISTRY_FORMATS
        ):
            raise ConfluentDialectError(
                f"'{key}' = '{value}' is not a Confluent Cloud format",
                sql_line=line,
                hint="use one of " + ", ".join(sorted(SCHEMA_REGISTRY_FORMATS)),
            )


# --------------------------------------------------------------------------- windows

_LEGACY_WINDOWS = {"TUMBLE": 2, "HOP": 3, "SESSION": 2}  # name -> argument count
_AUX = {"START": "window_start", "END": "window_end", "ROWTIME": "window_time"}
_CLAUSE_END = {"WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "WINDOW"}


def _close_paren(toks: list[_Tok], open_idx: int) -> int:
    depth = 0
    for j in range(open_idx, len(toks)):
        if toks[j].kind == "punct" and toks[j].text == "(":
            depth += 1
        elif toks[j].kind == "punct" and toks[j].text == ")":
            depth -= 1
            if depth == 0:
                return j
    raise ConfluentDialectError("unbalanced parentheses in the statement")


def _split_args(toks: list[_Tok], open_idx: int, close_idx: int) -> list[str]:
    args: list[list[str]] = [[]]
    depth = 0
    for t in toks[open_idx + 1 : close_idx]:
        if t.kind == "punct" and t.text == "(":
            depth += 1
        elif t.kind == "punct" and t.text == ")":
            depth -= 1
        if t.kind == "punct" and t.text == "," and depth == 0:
            args.append([])
        elif t.kind != "comment":
            args[-1].append(t.text)
    return ["".join(a).strip() for a in args]


def _find_word_seq(toks: list[_Tok], words: Iterable[str], start: int = 0) -> int | None:
    """Index of the first token of a top-level (depth 0) word sequence."""
    want = list(words)
    code = [i for i in _code(toks) if i >= start]
    depth = 0
    for n, i in enumerate(code):
        t = toks[i]
        if t.kind == "punct" and t.text in "()":
            depth += 1 if t.text == "(" else -1
            continue
        if depth == 0 and [toks[k].upper for k in code[n : n + len(want)]] == want:
            return i
    return None


def rewrite_legacy_group_windows(sql: str) -> str:
    """Rewrite ``GROUP BY ..., TUMBLE(ts, size)`` queries to the window TVF form.

    Mechanical when the query reads one table and groups by one legacy window:
    ``FROM t`` becomes ``FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), size))``,
    the window call in ``GROUP BY`` becomes ``window_start, window_end`` and
    ``TUMBLE_START/_END/_ROWTIME(...)`` become ``window_start/_end/_time``.
    HOP keeps its (slide, size) order; SESSION partitions by the other
    grouping keys. Anything else raises with an example of the TVF form.
    """
    toks = _tokens(sql)
    code = _code(toks)
    calls: list[tuple[int, str]] = []  # (index of name token, function name)
    for n, i in enumerate(code[:-1]):
        name = toks[i].upper
        if toks[code[n + 1]].text != "(":
            continue
        base = name.rsplit("_", 1)[0] if "_" in name else name
        if name in _LEGACY_WINDOWS or (base in _LEGACY_WINDOWS and name[len(base) + 1 :] in _AUX):
            # a TVF call is `TUMBLE(TABLE ...`: not legacy
            if name in _LEGACY_WINDOWS and n + 2 < len(code) and toks[code[n + 2]].upper == "TABLE":
                continue
            calls.append((i, name))
        if name.endswith("_PROCTIME") and base in _LEGACY_WINDOWS:
            line = _line_of(sql, toks[i].start)
            raise ConfluentDialectError(
                f"{name}() has no equivalent in Confluent Cloud",
                sql_line=line,
                hint=_TVF_EXAMPLE,
            )
    if not calls:
        return sql
    group_calls = [(i, n) for i, n in calls if n in _LEGACY_WINDOWS]
    first_line = _line_of(sql, toks[calls[0][0]].start)
    if len(group_calls) != 1:
        raise ConfluentDialectError(
            f"legacy group window functions need exactly one "
            f"TUMBLE/HOP/SESSION in GROUP BY (found {len(group_calls)})",
            sql_line=first_line,
            hint=_TVF_EXAMPLE,
        )
    win_idx, win_name = group_calls[0]
    group_by = _find_word_seq(toks, ["GROUP", "BY"])
    select = _find_word_seq(toks, ["SELECT"])
    from_idx = _find_word_seq(toks, ["FROM"], select or 0) if select is not None else None
    if group_by is None or from_idx is None or select is None or win_idx < group_by:
        raise ConfluentDialectError(
            f"{win_name}(...) outside GROUP BY cannot be rewritten",
            sql_line=first_line,
            hint=_TVF_EXAMPLE,
        )
    win_open = code[code.index(win_idx) + 1]
    win_close = _close_paren(toks, win_open)
    args = _split_args(toks, win_open, win_close)
    if len(args) != _LEGACY_WINDOWS[win_name]:
        raise ConfluentDialectError(
            f"{win_name} takes {_LEGACY_WINDOWS[win_name]} arguments",
            sql_line=first_line,
        )
    time_col = args[0].split(".")[-1].strip()

    # FROM must be one plain table, optionally aliased, up to WHERE/GROUP.
    from_code = [i for i in code if i > from_idx]
    table_toks: list[_Tok] = []
    for i in from_code:
        t = toks[i]
        if t.upper in _CLAUSE_END:
            break
        table_toks.append(t)
    dotted = _dotted_name(table_toks)
    if dotted is None:
        raise ConfluentDialectError(
            f"cannot rewrite a legacy {win_name} window over a join or subquery mechanically",
            sql_line=first_line,
            hint=_TVF_EXAMPLE,
        )
    table, alias = dotted

    # Other grouping keys (for SESSION's PARTITION BY).
    group_end = next(
        (
            i
            for i in code
            if i > win_close
            and (toks[i].upper in ("HAVING", "ORDER", "LIMIT") or toks[i].text == ";")
        ),
        len(toks),
    )
    # tokens strictly between BY and the end of the clause
    group_items = _split_args(toks, code[code.index(group_by) + 1], group_end)
    keys = [k for k in group_items if k and not k.upper().startswith(win_name + "(")]

    size_args = ", ".join(args[1:])
    if win_name == "SESSION":
        part = f" PARTITION BY {', '.join(keys)}" if keys else ""
        tvf = f"TABLE(SESSION(TABLE {table}{part}, DESCRIPTOR({time_col}), {size_args}))"
    else:
        tvf = f"TABLE({win_name}(TABLE {table}, DESCRIPTOR({time_col}), {size_args}))"
    if alias:
        tvf += f" AS {alias}"

    # Build the replacement text, back to front so offsets stay valid.
    edits: list[tuple[int, int, str]] = []  # (start token idx, end token idx inclusive, text)
    first_table = next(i for i in from_code if toks[i] is table_toks[0])
    last_table = next(i for i in from_code if toks[i] is table_toks[-1])
    edits.append((first_table, last_table, tvf))
    edits.append((win_idx, win_close, "window_start, window_end"))
    for i, name in calls:
        if name in _LEGACY_WINDOWS:
            continue
        base, aux = name.rsplit("_", 1)
        if base != win_name:
            line = _line_of(sql, toks[i].start)
            raise ConfluentDialectError(
                f"{name}() does not match the {win_name} window in GROUP BY",
                sql_line=line,
            )
        close = _close_paren(toks, code[code.index(i) + 1])
        edits.append((i, close, _AUX[aux]))
    out = [t.text for t in toks]
    for start, end, text in sorted(edits, reverse=True):
        out[start : end + 1] = [text]
    return "".join(out)


def _dotted_name(table_toks: list[_Tok]) -> tuple[str, str | None] | None:
    """``a.b.c [AS] alias`` -> (name, alias); None if the tokens are not that."""
    names: list[str] = []
    i = 0
    while i < len(table_toks):
        t = table_toks[i]
        if t.kind not in ("word", "ident"):
            return None
        names.append(t.text)
        if i + 1 < len(table_toks) and table_toks[i + 1].text == ".":
            i += 2
            continue
        i += 1
        break
    rest = table_toks[i:]
    if rest and rest[0].upper == "AS":
        rest = rest[1:]
    if len(rest) > 1 or any(t.kind not in ("word", "ident") for t in rest):
        return None
    return ".".join(names), (rest[0].text if rest else None)

"""Which tables a Flink SQL text reads and writes, for change-based test selection.

This is not a SQL parser: it is :mod:`ctt.sql.lexer`'s tokens plus a few rules right for
the statements Flink pipelines are made of (``CREATE TABLE ... WITH``, ``CREATE
TABLE ... AS SELECT``, ``INSERT INTO ... SELECT``, views, joins, window TVFs,
statement sets). It never raises on bad input, because a template that does not
parse must still be selectable. Jinja2 in templates is tolerated: ``{% %}`` tags
are dropped (both branches of an ``if`` count, which can only add lineage) and a
name built from ``{{ }}`` is reported as *templated*, unknown until rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from ctt.sql.lexer import KEYWORDS, TokenKind, tokenize

__all__ = ["SqlLineage", "render_loosely", "sql_lineage"]


class SqlLineage(BaseModel):
    """Tables read and written by one SQL text; names are lower-case, unqualified."""

    model_config = ConfigDict(frozen=True)

    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    declared: frozenset[str] = Field(
        frozenset(), description="tables created by DDL without a query (sources and sinks)"
    )
    topics: dict[str, str] = Field(
        default_factory=dict, description="table -> Kafka topic, from WITH ('topic' = '...')"
    )
    templated: frozenset[str] = Field(
        frozenset(), description="table names built from Jinja expressions, e.g. '{{src}}'"
    )


_JINJA_EXPR = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)

# A word in it is never a table name (reserved words need backticks in Flink SQL too).
_KEYWORDS = KEYWORDS
# Functions whose arguments use FROM without reading a table: EXTRACT(YEAR FROM ts).
_FROM_FUNCTIONS = frozenset({"EXTRACT", "TRIM", "SUBSTRING", "SUBSTR", "OVERLAY", "POSITION"})


@dataclass
class _Name:
    """A run of adjacent words, quoted identifiers, Jinja expressions and dots."""

    parts: list[str]
    raw: str
    keyword: str | None  # upper-case text when a single unquoted keyword
    templated: bool

    @property
    def table(self) -> str:
        return self.raw.lower() if self.templated else self.parts[-1].lower()


@dataclass
class _Punct:
    char: str


@dataclass
class _String:
    value: str


_Item = _Name | _Punct | _String


def _items(text: str) -> list[_Item]:
    """Tokens with adjacent name pieces merged: ``cat.db.{{ t }}_x`` is one name."""
    items: list[_Item] = []
    run: list[tuple[str, str]] = []  # (kind, text) of the current name run

    def flush() -> None:
        if not run:
            return
        parts: list[str] = [""]
        raw = ""
        templated = False
        quoted = False
        for kind, value in run:
            if kind == "dot":
                parts.append("")
                raw += "."
            elif kind == "jinja":
                piece = "{{" + value[2:-2].strip() + "}}"
                parts[-1] += piece
                raw += piece
                templated = True
            elif kind == "quoted":
                piece = _JINJA_EXPR.sub(lambda m: "{{" + m[1].strip() + "}}", value)
                parts[-1] += piece
                raw += piece
                quoted = True
                templated = templated or "{{" in piece
            else:
                parts[-1] += value
                raw += value
        run.clear()
        parts = [p for p in parts if p] or [raw]
        upper = raw.upper()
        keyword = upper if not quoted and not templated and upper in _KEYWORDS else None
        if not raw.strip("."):
            items.append(_Punct("."))
            return
        items.append(_Name(parts, raw, keyword, templated))

    for tok in tokenize(text):
        kind = _KIND.get(tok.kind, "punct")
        if kind in ("word", "quoted", "jinja") or (tok.is_punct(".") and run):
            run.append(("dot" if tok.is_punct(".") else kind, tok.value))
            continue
        flush()  # trivia and numbers end a name: `FROM a b` is a table and its alias
        if kind == "string":
            items.append(_String(tok.value))
        elif kind == "punct":
            items.append(_Punct(tok.text))
    flush()
    return items


_KIND = {
    TokenKind.KEYWORD: "word",
    TokenKind.IDENTIFIER: "word",
    TokenKind.QUOTED_IDENTIFIER: "quoted",
    TokenKind.UNTERMINATED_IDENTIFIER: "quoted",
    TokenKind.JINJA_EXPRESSION: "jinja",
    TokenKind.STRING: "string",
    TokenKind.UNTERMINATED_STRING: "string",
    TokenKind.WHITESPACE: "skip",
    TokenKind.COMMENT: "skip",
    TokenKind.UNTERMINATED_COMMENT: "skip",
    TokenKind.JINJA_BLOCK: "skip",
    TokenKind.NUMBER: "skip",
}


def _statements(items: list[_Item]) -> list[list[_Item]]:
    out: list[list[_Item]] = [[]]
    depth = 0
    for item in items:
        if isinstance(item, _Punct):
            if item.char == "(":
                depth += 1
            elif item.char == ")":
                depth = max(0, depth - 1)
            elif item.char == ";" and depth == 0:
                out.append([])
                continue
        out[-1].append(item)
    return [s for s in out if s]


def _kw(item: _Item | None, *words: str) -> bool:
    return isinstance(item, _Name) and item.keyword in words


def _is_table_name(item: _Item | None) -> bool:
    return isinstance(item, _Name) and item.keyword is None


@dataclass
class _Result:
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    declared: set[str] = field(default_factory=set)
    topics: dict[str, str] = field(default_factory=dict)
    templated: set[str] = field(default_factory=set)

    def add(self, bucket: set[str], name: _Name) -> None:
        bucket.add(name.table)
        if name.templated:
            self.templated.add(name.table)


def _statement(stmt: list[_Item], res: _Result) -> None:
    """Add what one statement reads, writes, declares and maps to topics to ``res``."""
    scan = _StatementScan(stmt, res)
    scan.walk()
    created = scan.created
    if created is not None:
        topic = _topic_option(stmt)
        if topic is not None:
            res.topics[created.table] = topic
        res.add(res.writes if scan.has_query else res.declared, created)
    res.reads |= scan.reads - scan.ctes


def _topic_option(stmt: list[_Item]) -> str | None:
    """The last ``'topic' = '...'`` option of a statement."""
    topic = None
    for key, eq, value in zip(stmt, stmt[1:], stmt[2:], strict=False):
        if (
            isinstance(key, _String)
            and key.value.lower() == "topic"
            and eq == _Punct("=")
            and isinstance(value, _String)
        ):
            topic = value.value
    return topic


class _StatementScan:
    """One walk over a statement's items: tables read, CTE names, the table created, a query."""

    def __init__(self, stmt: list[_Item], res: _Result) -> None:
        self.stmt = stmt
        self.res = res
        self.reads: set[str] = set()
        self.ctes: set[str] = set()
        self.created: _Name | None = None
        self.has_query = False

    def at(self, i: int) -> _Item | None:
        return self.stmt[i] if 0 <= i < len(self.stmt) else None

    def _read(self, name: _Name) -> None:
        self.reads.add(name.table)
        if name.templated:
            self.res.templated.add(name.table)

    def walk(self) -> None:
        at = self.at
        frames: list[bool] = []  # per open paren: does FROM inside it read a table?
        i = 0
        while i < len(self.stmt):
            item = self.stmt[i]
            if isinstance(item, _Punct):
                if item.char == "(":
                    prev = at(i - 1)
                    frames.append(
                        not (isinstance(prev, _Name) and prev.raw.upper() in _FROM_FUNCTIONS)
                    )
                elif item.char == ")" and frames:
                    frames.pop()
            elif isinstance(item, _Name):
                i = self._name(i, item, reads_tables=all(frames))
            i += 1

    def _name(self, i: int, item: _Name, *, reads_tables: bool) -> int:
        """Read the name at ``i``; returns the index the walk continues after."""
        at = self.at
        kw = item.keyword
        if kw == "SELECT":
            self.has_query = True
        elif kw in ("FROM", "JOIN") and reads_tables:
            self._from_list(i + 1, comma=kw == "FROM")
        elif (
            kw == "TABLE" and at(i - 1) in (_Punct("("), _Punct(",")) and _is_table_name(at(i + 1))
        ):
            nxt = at(i + 1)
            assert isinstance(nxt, _Name)
            self._read(nxt)  # window TVF: TUMBLE(TABLE orders, ...)
        elif (kw == "INTO" and _kw(at(i - 1), "INSERT")) or kw == "OVERWRITE":
            target = at(i + 1)
            if _kw(target, "TABLE"):
                target = at(i + 2)
            if isinstance(target, _Name):
                self.res.add(self.res.writes, target)
        elif (kw == "FROM" and _kw(at(i - 1), "DELETE")) or kw == "UPDATE":
            target = at(i + 1)
            if _is_table_name(target):
                assert isinstance(target, _Name)
                self.res.add(self.res.writes, target)
        elif kw == "CREATE" and self.created is None:
            return self._create(i)
        elif (
            kw is None
            and _kw(at(i + 1), "AS")
            and at(i + 2) == _Punct("(")
            and item is not self.created
        ):
            self.ctes.add(item.table)
        return i

    def _from_list(self, j: int, *, comma: bool) -> None:
        """The tables after FROM (a comma list when ``comma``) or JOIN, each with its alias."""
        at = self.at
        while True:
            nxt = at(j)
            if not _is_table_name(nxt):
                return
            assert isinstance(nxt, _Name)
            if isinstance(at(j + 1), _Punct) and at(j + 1) == _Punct("("):
                return  # a table function call
            self._read(nxt)
            j += 1
            if _kw(at(j), "AS"):
                j += 1
            if _is_table_name(at(j)):
                j += 1  # alias
            if not (comma and at(j) == _Punct(",")):
                return
            j += 1

    def _create(self, i: int) -> int:
        """CREATE [OR REPLACE] [TEMPORARY] [SYSTEM] TABLE|VIEW [IF NOT EXISTS] name."""
        at = self.at
        j = i + 1
        while _kw(at(j), "OR", "REPLACE", "TEMPORARY") or (
            isinstance(at(j), _Name) and at(j).raw.upper() == "SYSTEM"  # type: ignore[union-attr]
        ):
            j += 1
        if not _kw(at(j), "TABLE", "VIEW"):
            return i
        j += 1
        if _kw(at(j), "IF"):
            j += 3  # IF NOT EXISTS
        target = at(j)
        if isinstance(target, _Name) and target.keyword is None:
            self.created = target
            return j
        return i


def sql_lineage(text: str) -> SqlLineage:
    """Reads, writes, declared tables and topics of a SQL text (never raises)."""
    res = _Result()
    for stmt in _statements(_items(text)):
        _statement(stmt, res)
    return SqlLineage(
        reads=frozenset(res.reads),
        writes=frozenset(res.writes),
        declared=frozenset(res.declared - res.writes),
        topics=res.topics,
        templated=frozenset(res.templated),
    )


class _KeepUndefined(jinja2.Undefined):
    """Renders an unknown variable as ``{{name}}`` so it stays visibly templated."""

    def __str__(self) -> str:
        return "{{" + (self._undefined_name or "undefined") + "}}"


_ENV = SandboxedEnvironment(undefined=_KeepUndefined, autoescape=False)


_SIMPLE_EXPR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def render_loosely(text: str, params: dict[str, Any] | None) -> str:
    """Render a template with the params a spec gives; the raw text if it cannot be rendered.

    Templates that only substitute plain variables (most SQL templates) skip
    Jinja's compiler, which costs a millisecond per template at selection time.
    """
    params = params or {}
    if (
        "{%" not in text
        and "{#" not in text
        and text.count("{{") == len(_SIMPLE_EXPR.findall(text))
    ):
        return _SIMPLE_EXPR.sub(
            lambda m: str(params[m[1]]) if m[1] in params else "{{" + m[1] + "}}", text
        )
    try:
        return _ENV.from_string(text).render(**(params or {}))
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, ArithmeticError):
        return text

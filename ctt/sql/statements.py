"""Splitting a SQL script into statements, recognising the ones ctt must rewrite, and mapping
Flink's error positions back to the script.

A statement's ``sql`` is the exact slice of the script from its first to its last code
token (comments and hints inside it kept), and it knows where that slice starts; so a
``line N, column M`` Flink reports inside statement k is a position in the script.
"""

from __future__ import annotations

import itertools
import re
from enum import StrEnum

from pydantic import BaseModel

from ctt.sql.lexer import Token, TokenKind, code, line_col, matching_paren, offset_of, tokenize

__all__ = [
    "Kind",
    "Statement",
    "error_position",
    "locate",
    "parse",
    "parse_set",
    "segments",
    "set_option",
    "split",
    "strip_name",
]


class Kind(StrEnum):
    CTAS = "ctas"  # CREATE TABLE x AS SELECT ...
    INSERT = "insert"  # INSERT INTO x SELECT ...
    SET = "set"
    OTHER = "other"  # CREATE VIEW, CREATE FUNCTION, ...


class Statement(BaseModel):
    sql: str  # the script's text from the first to the last code token, verbatim
    line: int  # 1-based line of the statement's first character in the script
    kind: Kind
    target: str | None = None
    query: str | None = None  # a suffix of ``sql``: what follows the CTAS's AS / INSERT's table
    col: int = 1  # 1-based column of the statement's first character
    offset: int = 0  # offset of the statement's first character in the script


def segments(tokens: list[Token]) -> list[list[Token]]:
    """The tokens between ``;`` separators (trivia kept, separators dropped, empty ones too).

    A ``;`` in a string, quoted identifier or comment is inside that token, so it never splits.
    """
    out: list[list[Token]] = [[]]
    for tok in tokens:
        if tok.is_punct(";"):
            out.append([])
        else:
            out[-1].append(tok)
    return [seg for seg in out if seg]


def _statements(script: str) -> list[tuple[Statement, list[Token]]]:
    out: list[tuple[Statement, list[Token]]] = []
    for seg in segments(tokenize(script)):
        toks = code(seg)
        if not toks:
            continue
        first = toks[0]
        stmt = Statement(
            sql=script[first.offset : toks[-1].end],
            line=first.line,
            col=first.col,
            offset=first.offset,
            kind=Kind.OTHER,
        )
        out.append((stmt, toks))
    return out


def split(script: str) -> list[tuple[str, int]]:
    """Statements and their start lines; semicolons inside quotes and comments do not split."""
    return [(s.sql, s.line) for s, _ in _statements(script)]


def _name_end(toks: list[Token], i: int) -> int | None:
    """Index after a dotted name starting at ``i`` (``cat.db.`t```); None if there is none."""
    if i >= len(toks) or not toks[i].is_name:
        return None
    i += 1
    while i + 1 < len(toks) and toks[i].is_punct(".") and toks[i + 1].is_name:
        i += 2
    return i


def _words(toks: list[Token], i: int, *words: str) -> int | None:
    """Index after ``words`` if they follow at ``i``, else None."""
    for word in words:
        if i >= len(toks) or toks[i].upper != word:
            return None
        i += 1
    return i


def _ctas(toks: list[Token]) -> tuple[int, int] | None:
    """(index after the target name, index of the query) of ``CREATE TABLE x [WITH (...)] AS q``."""
    table = _words(toks, _words(toks, 1, "TEMPORARY") or 1, "TABLE")
    if table is None:
        return None
    end = _name_end(toks, _words(toks, table, "IF", "NOT", "EXISTS") or table)
    if end is None:
        return None
    j: int | None = end
    if _words(toks, end, "WITH"):
        close = matching_paren(toks, end + 1)
        j = None if close is None else close + 1
    if j is None or not _words(toks, j, "AS") or j + 1 >= len(toks):
        return None
    return end, j + 1


def _classify(stmt: Statement, toks: list[Token]) -> Statement:
    head = toks[0].upper
    target_end: int | None = None
    query_at: int | None = None
    kind = Kind.OTHER
    if head == "CREATE" and (ctas := _ctas(toks)) is not None:
        kind, (target_end, query_at) = Kind.CTAS, ctas
    elif head == "INSERT" and len(toks) > 1 and toks[1].upper in ("INTO", "OVERWRITE"):
        end = _name_end(toks, 2)
        if end is not None:
            kind, target_end, query_at = Kind.INSERT, end, end
    elif head == "SET" and parse_set(stmt.sql) is not None:
        kind = Kind.SET
    if target_end is None:
        return stmt.model_copy(update={"kind": kind})
    target = toks[target_end - 1].value
    query = ""
    if query_at is not None and query_at < len(toks):
        query = stmt.sql[toks[query_at].offset - stmt.offset :]
    return stmt.model_copy(update={"kind": kind, "target": target, "query": query})


def strip_name(name: str) -> str:
    return name.replace("`", "").split(".")[-1]


def parse(script: str) -> list[Statement]:
    """The script's statements, classified (CTAS, INSERT, SET, other), with their positions."""
    return [_classify(stmt, toks) for stmt, toks in _statements(script)]


def parse_set(sql: str) -> tuple[str, str] | None:
    """``SET 'k' = 'v'`` (quotes optional) -> (k, v); None when it is not that shape."""
    toks = code(tokenize(sql))
    if toks and toks[-1].is_punct(";"):
        toks = toks[:-1]
    eq = next((i for i, t in enumerate(toks) if t.text == "="), None)
    if not toks or toks[0].upper != "SET" or eq is None or eq < 2 or eq == len(toks) - 1:
        return None
    key_toks, value_toks = toks[1:eq], toks[eq + 1 :]
    quoted = (TokenKind.STRING, TokenKind.QUOTED_IDENTIFIER)
    if len(key_toks) == 1 and key_toks[0].kind in quoted:
        key = key_toks[0].value
    elif all(a.end == b.offset for a, b in itertools.pairwise(key_toks)):
        key = sql[key_toks[0].offset : key_toks[-1].end]  # a.b-c: no spaces inside
    else:
        return None
    if len(value_toks) == 1 and value_toks[0].kind in quoted:
        value = value_toks[0].value
    else:
        value = sql[value_toks[0].offset : value_toks[-1].end]
    return key, value.strip()


def set_option(stmt: Statement) -> tuple[str, str]:
    option = parse_set(stmt.sql)
    assert option is not None, stmt.sql
    return option


def locate(
    text: str, statement: int | Statement, line: int, col: int, *, prefix: str = ""
) -> tuple[int, int]:
    """Where in ``text`` a (line, col) Flink reports for one of its statements is, 1-based.

    ``statement`` is the statement's index in :func:`parse` (IndexError if there is none) or
    the statement itself. When ctt sent ``prefix + statement.query`` instead of the
    statement (a CTAS restated as a view), give that ``prefix``: positions in it map to the
    query's start. Positions past a line's end or the statement's last line are clamped.
    """
    stmt = parse(text)[statement] if isinstance(statement, int) else statement
    if prefix:
        query = stmt.query or ""
        sent = offset_of(prefix + query, line, col) - len(prefix)
        rel = len(stmt.sql) - len(query) + max(0, sent)
    else:
        rel = offset_of(stmt.sql, line, col)
    return line_col(text, stmt.offset + rel)


_POSITION = re.compile(r"\bline (\d+), column (\d+)", re.IGNORECASE)


def error_position(message: str) -> tuple[int, int] | None:
    """The first ``line N, column M`` in a Flink error message (parse and validation errors)."""
    m = _POSITION.search(message)
    return (int(m[1]), int(m[2])) if m else None

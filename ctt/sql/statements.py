"""Splitting a SQL script into statements and recognising the ones ctt must rewrite."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel


class Kind(StrEnum):
    CTAS = "ctas"  # CREATE TABLE x AS SELECT ...
    INSERT = "insert"  # INSERT INTO x SELECT ...
    SET = "set"
    OTHER = "other"  # CREATE VIEW, CREATE FUNCTION, ...


class Statement(BaseModel):
    sql: str
    line: int  # 1-based line of the statement's first character in the script
    kind: Kind
    target: str | None = None
    query: str | None = None


_CTAS = re.compile(
    r"^\s*CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>[`\w.]+)\s*"
    r"(?:WITH\s*\((?P<with>.*?)\)\s*)?AS\s+(?P<query>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_INSERT = re.compile(
    r"^\s*INSERT\s+(?:INTO|OVERWRITE)\s+(?P<name>[`\w.]+)\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_SET = re.compile(
    r"^\s*SET\s+'?(?P<key>[^'=\s]+)'?\s*=\s*'?(?P<value>[^']*)'?\s*$", re.IGNORECASE | re.DOTALL
)


def split(script: str) -> list[tuple[str, int]]:
    """Statements and their start lines; semicolons inside quotes and comments do not split."""
    out: list[tuple[str, int]] = []
    buf: list[str] = []
    i, n, line = 0, len(script), 1
    start_line: int | None = None
    quote: str | None = None
    while i < n:
        ch = script[i]
        nxt = script[i + 1] if i + 1 < n else ""
        if quote:
            buf.append(ch)
            if ch == quote:
                if nxt == quote:  # doubled quote escapes itself
                    buf.append(nxt)
                    i += 1
                else:
                    quote = None
        elif ch == "-" and nxt == "-":
            end = script.find("\n", i)
            end = n if end == -1 else end
            i = end
            continue
        elif ch == "/" and nxt == "*":
            end = script.find("*/", i + 2)
            end = n if end == -1 else end + 2
            line += script.count("\n", i, end)
            buf.append(" ")
            i = end
            continue
        elif ch == ";":
            text = "".join(buf).strip()
            if text:
                out.append((text, start_line or line))
            buf, start_line = [], None
        else:
            if ch in ("'", "`", '"'):
                quote = ch
            if start_line is None and not ch.isspace():
                start_line = line
            buf.append(ch)
        if ch == "\n":
            line += 1
        i += 1
    text = "".join(buf).strip()
    if text:
        out.append((text, start_line or line))
    return out


def strip_name(name: str) -> str:
    return name.replace("`", "").split(".")[-1]


def parse(script: str) -> list[Statement]:
    stmts = []
    for sql, line in split(script):
        if m := _CTAS.match(sql):
            stmts.append(
                Statement(
                    sql=sql,
                    line=line,
                    kind=Kind.CTAS,
                    target=strip_name(m["name"]),
                    query=m["query"].strip(),
                )
            )
        elif m := _INSERT.match(sql):
            stmts.append(
                Statement(
                    sql=sql,
                    line=line,
                    kind=Kind.INSERT,
                    target=strip_name(m["name"]),
                    query=m["rest"].strip(),
                )
            )
        elif _SET.match(sql):
            stmts.append(Statement(sql=sql, line=line, kind=Kind.SET))
        else:
            stmts.append(Statement(sql=sql, line=line, kind=Kind.OTHER))
    return stmts


def set_option(stmt: Statement) -> tuple[str, str]:
    m = _SET.match(stmt.sql)
    assert m is not None
    return m["key"], m["value"].strip()

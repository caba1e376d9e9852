"""Assertion queries: DuckDB SQL that must return no rows, inline in a spec or from a ``.sql`` file.

A file holds statements separated by ``;`` (outside quotes and comments); a
``-- name: <name>`` comment before a statement names it, else it is named by its
position. Each query keeps the line it starts on, so errors point into the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from ctt.errors import ConfigError

_NAME = re.compile(r"^\s*--\s*name\s*:\s*(?P<name>\S.*?)\s*$", re.I)


class Query(BaseModel):
    name: str
    sql: str
    file: str | None = None
    line: int | None = None


def split(text: str) -> list[tuple[str, int]]:
    """Statements and the line each starts on; ``;`` inside quotes or comments does not split."""
    out: list[tuple[str, int]] = []
    buf: list[str] = []
    start = line = 1
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        two = text[i : i + 2]
        if two == "--":
            end = text.find("\n", i)
            end = n if end < 0 else end
            buf.append(text[i:end])
            i = end
            continue
        if two == "/*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            buf.append(text[i:end])
            line += text.count("\n", i, end)
            i = end
            continue
        if ch in ("'", '"'):
            j = i + 1
            while j < n:
                if text[j] == ch and text[j : j + 2] != ch * 2:
                    break
                j += 2 if text[j : j + 2] == ch * 2 else 1
            buf.append(text[i : j + 1])
            line += text.count("\n", i, j + 1)
            i = j + 1
            continue
        if ch == ";":
            out.append(("".join(buf), start))
            buf = []
            start = line
            i += 1
            continue
        if ch == "\n":
            line += 1
        buf.append(ch)
        i += 1
    out.append(("".join(buf), start))
    return [(s, ln) for s, ln in out if _code(s)]


def _code(stmt: str) -> str:
    """The statement without comment lines (empty for a chunk that is only comments)."""
    return "\n".join(
        ln for ln in stmt.splitlines() if ln.strip() and not ln.strip().startswith("--")
    ).strip()


def parse_file(text: str, *, file: str) -> list[Query]:
    """Named queries of a file; a ``-- name:`` used twice is an error at its second line."""
    queries: list[Query] = []
    seen: dict[str, int] = {}
    for stmt, start in split(text):
        name = None
        first = start
        for offset, ln in enumerate(stmt.splitlines()):
            m = _NAME.match(ln)
            if m and name is None:
                name = m["name"]
            if ln.strip() and not ln.strip().startswith("--"):
                first = start + offset
                break
        name = name or f"query {len(queries) + 1}"
        if name in seen:
            raise ConfigError(
                f"two queries are named {name!r} (the first at line {seen[name]})",
                file=file,
                line=first,
            )
        seen[name] = first
        queries.append(Query(name=name, sql=_code(stmt), file=file, line=first))
    if not queries:
        raise ConfigError("no queries in the file", file=file, line=1)
    return queries


def resolve(name: str, spec_file: Path) -> Path | None:
    """``name`` beside the spec, else under the repository that holds it (the nearest ancestor
    with ``flink/``, as ``sql_template`` paths are), else relative to the working directory."""
    p = Path(name)
    if p.is_absolute():
        return p if p.is_file() else None
    here = spec_file.resolve().parent
    for base in [here, *here.parents]:
        if (base / p).is_file():
            return base / p
        if (base / "flink").is_dir() or (base / ".git").exists():
            break
    return p if p.is_file() else None


__all__ = ["Query", "parse_file", "resolve", "split"]

"""sql_assertions: DuckDB queries over the run's tables that must return no rows.

Views: one per output table (its final rows) and one per source table (the
records ctt sent, with the oracle's ``_ctt_event_time_ms``, ``_ctt_late``,
``_ctt_partition``, ``_ctt_seq`` and ``_ctt_watermark_ms`` columns). Each row a
query returns is a violation; the first ones are shown with the count.
"""

from __future__ import annotations

from typing import Any

import duckdb
from pydantic import BaseModel

from ctt.errors import ConfigError
from ctt.expect.queries import Query, parse_file, resolve
from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._data import assertion_outcome, connect, fail, failing_rows
from ctt.validate.registry import register


class FileRef(BaseModel):
    file: str


Item = Query | FileRef


def _item(raw: Any, i: int) -> Item:
    if isinstance(raw, str):
        return _checked(Query(name=f"query {i + 1}", sql=raw))
    if isinstance(raw, dict) and set(raw) == {"file"} and isinstance(raw["file"], str):
        return FileRef(file=raw["file"])
    if isinstance(raw, dict) and "sql" in raw and set(raw) <= {"name", "sql"}:
        return _checked(Query(name=str(raw.get("name") or f"query {i + 1}"), sql=str(raw["sql"])))
    raise ValueError(
        f"item {i + 1}: give a query, {{name: ..., sql: ...}} or {{file: path.sql}}"
        + (
            f" (unknown keys: {', '.join(sorted(set(raw) - {'name', 'sql', 'file'}))})"
            if isinstance(raw, dict)
            else ""
        )
    )


def _checked(q: Query) -> Query:
    """Syntax errors are config errors before anything runs (DuckDB parses without tables)."""
    try:
        stmts = duckdb.extract_statements(q.sql)
    except duckdb.Error as exc:
        raise ValueError(f"{q.name}: {str(exc).splitlines()[0]}") from None
    if len(stmts) != 1:
        raise ValueError(f"{q.name}: one query each (got {len(stmts)} statements)")
    return q


def _parse(raw: Any) -> list[Item]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise ValueError("give at least one query")
    return [_item(r, i) for i, r in enumerate(items)]


def _queries(items: list[Item], ctx: ValidationContext) -> list[Query]:
    out: list[Query] = []
    for it in items:
        if isinstance(it, Query):
            out.append(it)
            continue
        path = resolve(it.file, ctx.spec.file) if ctx.spec else None
        if path is None:
            raise fail(
                ctx,
                "sql_assertions",
                f"no query file {it.file!r} beside the spec or in its repository",
            )
        out += parse_file(path.read_text(encoding="utf-8"), file=str(path))
    return out


@register("sql_assertions", parse=_parse)
def check(items: list[Item], ctx: ValidationContext) -> Outcome:
    """Every query returns no rows; a query that does not run is a config error at its line."""
    queries = _queries(items, ctx)
    con = connect(ctx, "sql_assertions")
    failed: list[str] = []
    try:
        for q in queries:
            try:
                rel = con.execute(q.sql)
                headers = [d[0] for d in rel.description or []]
                rows = rel.fetchall()
            except duckdb.Error as exc:
                msg = f"sql_assertions: {q.name}: {str(exc).splitlines()[0]}"
                if q.file:
                    raise ConfigError(msg, file=q.file, line=q.line) from None
                raise fail(ctx, "sql_assertions", f"{q.name}: {str(exc).splitlines()[0]}") from None
            if rows:
                shown = [list(r) for r in rows]
                failed.append(
                    f"{q.name}: " + failing_rows(headers, shown, "rows returned (want none)")
                )
    finally:
        con.close()
    return assertion_outcome(
        "sql_assertions",
        len(failed),
        ok=f"{len(queries)} queries return no rows",
        failed=f"{len(failed)} of {len(queries)} queries return rows",
        details="\n\n".join(failed),
    )

"""relationships: every output value of a column exists in a source's sent records (dbt's test)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import Field

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._data import Args, fail, parse_args, rows_outcome, table_rows, target_rows
from ctt.validate.registry import register


class Relationship(Args):
    column: str
    to: str = Field(description="the table whose rows the values must come from (a source)")
    field: str | None = Field(None, description="its column; default: the same name")
    table: str | None = Field(None, description="default: every output with the column")


def _parse(raw: Any) -> Relationship:
    return parse_args(Relationship, raw)


def _key(v: Any) -> str:
    """Numbers by value (an INT key matches a BIGINT one), the rest by text."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return repr(float(v))
    return str(v)


@register("relationships", parse=_parse)
def check(arg: Relationship, ctx: ValidationContext) -> Outcome:
    """``relationships: {column: order_id, to: orders}``: no output key the input never had.

    NULLs are not checked (``not_null`` does that), as in dbt.
    """
    field = arg.field or arg.column
    cols, ref_rows = table_rows(ctx, arg.to, "relationships")
    if field not in cols:
        raise fail(ctx, "relationships", f"table {arg.to!r} has no column {field!r}")
    known = {_key(r.get(field)) for r in ref_rows}
    orphans: Counter[tuple[str, str]] = Counter()
    checked = 0
    for name, rows in target_rows(ctx, arg.table, [arg.column], "relationships"):
        for r in rows:
            v = r.get(arg.column)
            if v is None:
                continue
            checked += 1
            if _key(v) not in known:
                orphans[(name, str(v))] += 1
    bad = [[t, v, n] for (t, v), n in sorted(orphans.items())]
    total = sum(orphans.values())
    return rows_outcome(
        "relationships",
        ["table", arg.column, "rows"],
        bad,
        f"values missing from {arg.to}",
        ok=f"every {arg.column} of {checked} rows is in {arg.to}.{field}",
        failed=f"{total} rows whose {arg.column} is not in {arg.to}.{field}",
        failures=total,
    )

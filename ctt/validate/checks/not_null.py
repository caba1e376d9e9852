"""not_null: the given columns hold a value in every final row of an output (dbt's `not_null`)."""

from __future__ import annotations

from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._data import Columns, columns_arg, output_rows, rows_outcome, targets
from ctt.validate.registry import register


@register("not_null", parse=columns_arg)
def check(arg: Columns, ctx: ValidationContext) -> Outcome:
    """``not_null: [user_id]`` or ``not_null: {table: t, columns: [...]}``; shows offending rows."""
    bad: list[list[Any]] = []
    headers: list[str] = []
    for name in targets(ctx, arg.table, arg.columns, "not_null"):
        cols, rows = output_rows(ctx, name)
        headers = headers or cols
        for r in rows:
            nulls = [c for c in arg.columns if r.get(c) is None]
            if nulls:
                bad.append([name, ", ".join(nulls), *[r.get(c) for c in cols]])
    return rows_outcome(
        "not_null",
        ["table", "null", *headers],
        bad,
        "rows with NULLs",
        ok=f"{', '.join(arg.columns)} never NULL",
        failed=f"{len(bad)} rows with NULLs",
    )

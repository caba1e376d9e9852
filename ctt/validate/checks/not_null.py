"""not_null: the given columns hold a value in every final row of an output (dbt's `not_null`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._data import (
    Args,
    columns_arg,
    failing_rows,
    output_rows,
    parse_args,
    targets,
)
from ctt.validate.registry import register


class NotNull(Args):
    columns: list[str] = Field(min_length=1)
    table: str | None = Field(None, description="default: every output with these columns")


def _parse(raw: Any) -> NotNull:
    return parse_args(NotNull, columns_arg(raw))


@register("not_null", parse=_parse)
def check(arg: NotNull, ctx: ValidationContext) -> Outcome:
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
    return Outcome(
        name="not_null",
        passed=not bad,
        summary=f"{', '.join(arg.columns)} never NULL"
        if not bad
        else f"{len(bad)} rows with NULLs",
        measured=float(len(bad)),
        threshold=0.0,
        details=failing_rows(["table", "null", *headers], bad, "rows with NULLs") if bad else None,
    )

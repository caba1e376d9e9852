"""accepted_values: a column of an output holds only the listed values (dbt's `accepted_values`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import Field

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._data import Args, parse_args, rows_outcome, target_rows
from ctt.validate.registry import register


class AcceptedValues(Args):
    column: str
    values: list[Any] = Field(min_length=1)
    table: str | None = Field(None, description="default: every output with this column")
    allow_null: bool = Field(False, description="NULL counts as accepted")


def _parse(raw: Any) -> AcceptedValues:
    return parse_args(AcceptedValues, raw)


def _same(a: Any, b: Any) -> bool:
    """Numbers by value (1 == 1.0), anything else by value or text (YAML `1` accepts "1")."""
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)):
        return float(a) == float(b)
    return bool(a == b) or str(a) == str(b)


@register("accepted_values", parse=_parse)
def check(arg: AcceptedValues, ctx: ValidationContext) -> Outcome:
    """``accepted_values: {column: event_type, values: [click, purchase]}``; counts the others."""
    others: Counter[tuple[str, str]] = Counter()
    for name, rows in target_rows(ctx, arg.table, [arg.column], "accepted_values"):
        for r in rows:
            v = r.get(arg.column)
            if v is None and arg.allow_null:
                continue
            if not any(_same(v, ok) for ok in arg.values):
                others[(name, "NULL" if v is None else str(v))] += 1
    bad = [[t, v, n] for (t, v), n in sorted(others.items())]
    total = sum(others.values())
    return rows_outcome(
        "accepted_values",
        ["table", arg.column, "rows"],
        bad,
        "values not accepted",
        ok=f"{arg.column} in {arg.values}",
        failed=f"{total} rows with other {arg.column}",
        failures=total,
    )

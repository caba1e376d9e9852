"""row_count: how many rows the output holds at the end (all outputs together)."""

from __future__ import annotations

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import actual_rows
from ctt.validate.checks._args import count
from ctt.validate.registry import register


@register("row_count", parse=count)
def check(expected: int, ctx: ValidationContext) -> Outcome:
    got = sum(len(actual_rows(out)) for out in ctx.outputs.values())
    return Outcome(
        name="row_count",
        passed=got == expected,
        summary=f"{got} rows (expected {expected})",
        measured=float(got),
        threshold=float(expected),
    )

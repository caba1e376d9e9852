"""output_schema_match: each output table has the columns (and, where declared, types) expected."""

from __future__ import annotations

from typing import Any

from ctt.observed.model import Outcome, ValidationContext, base_type
from ctt.validate.checks._args import flag
from ctt.validate.checks._table import listed_outcome
from ctt.validate.registry import register


@register("output_schema_match", parse=flag)
def check(arg: Any, ctx: ValidationContext) -> Outcome:
    """Columns of each output equal the declared schema, or the columns the expected rows name."""
    problems = []
    for name, out in ctx.outputs.items():
        actual = {c.name: c.type for c in out.columns}
        if out.expected_columns:
            want = {c.name: c.type for c in out.expected_columns}
            for col, typ in want.items():
                if col not in actual:
                    problems.append(f"{name}: missing column {col} {typ}")
                elif base_type(actual[col]) != base_type(typ):
                    problems.append(f"{name}.{col}: expected type {typ}, got {actual[col]}")
            problems += [f"{name}: unexpected column {c}" for c in actual if c not in want]
        elif out.expected_rows:
            named = {k for row in out.expected_rows for k in row} - set(out.ignore_columns)
            problems += [
                f"{name}: expected rows name column {c}, which the output lacks"
                for c in sorted(named - set(actual))
            ]
    if not arg:
        return Outcome(name="output_schema_match", passed=True, summary="not checked (false)")
    return listed_outcome(
        "output_schema_match",
        problems,
        ok="schemas match",
        failed=f"{len(problems)} schema difference(s)",
    )

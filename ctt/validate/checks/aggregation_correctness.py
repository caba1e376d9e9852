"""aggregation_correctness: for each window both sides have, every aggregate equals the expected value."""

from __future__ import annotations

import json
from typing import Any

from ctt.validate.base import Outcome, ValidationContext, actual_rows
from ctt.validate.checks._args import flag
from ctt.validate.registry import register
from ctt.validate.rows import Comparer, values_equal


def _parse(raw: Any) -> float | None:
    """``true`` uses each expected table's tolerance; a number sets the absolute tolerance."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    flag(raw)
    return None


@register("aggregation_correctness", parse=_parse)
def check(tolerance: float | None, ctx: ValidationContext) -> Outcome:
    rows_table = []
    compared = wrong = 0
    for name, out in ctx.outputs.items():
        if out.expected_rows is None:
            continue
        ident = out.identity()
        cmp = Comparer(out.columns, tolerance=out.tolerance, ignore=out.ignore_columns)
        tol = out.tolerance if tolerance is None else tolerance
        actual = {
            json.dumps([r.get(c) for c in ident], default=str): r
            for r in map(cmp.norm, actual_rows(out))
        }
        for exp in map(cmp.norm, out.expected_rows):
            key = json.dumps([exp.get(c) for c in ident], default=str)
            act = actual.get(key)
            if act is None:
                continue
            for col, want in exp.items():
                if col in ident:
                    continue
                compared += 1
                if not values_equal(want, act.get(col), tol):
                    wrong += 1
                    rows_table.append(f"{name} {key} {col}: expected {want}, got {act.get(col)}")
    if compared == 0:
        return Outcome(
            name="aggregation_correctness", passed=False, summary="no common windows to compare"
        )
    return Outcome(
        name="aggregation_correctness",
        passed=wrong == 0,
        summary=f"{compared - wrong} of {compared} aggregate values correct",
        measured=(compared - wrong) / compared,
        threshold=1.0,
        details=("window | aggregate | expected | actual\n" + "\n".join(rows_table[:30]))
        if rows_table
        else None,
    )

"""aggregation_correctness: for each window both sides have, every aggregate equals the expected value."""

from __future__ import annotations

import json
from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import actual_rows, values_equal
from ctt.validate.checks._args import flag, pct
from ctt.validate.checks._table import cell, describe, render
from ctt.validate.checks._windows import windowed
from ctt.validate.registry import register


def _parse(raw: Any) -> float | None:
    """``true`` uses each expected table's tolerance; a number sets the absolute tolerance."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if raw < 0:
            raise ValueError("a tolerance cannot be negative")
        return float(raw)
    flag(raw)
    return None


@register("aggregation_correctness", parse=_parse)
def check(tolerance: float | None, ctx: ValidationContext) -> Outcome:
    """Compares non-key columns window by window (floats within the tolerance).

    On failure: a table of key, window, aggregate, expected, actual.
    """
    diff: list[list[str]] = []
    compared = wrong = 0
    for w in windowed(ctx):
        tol = w.out.tolerance if tolerance is None else tolerance
        actual = w.by_window(actual_rows(w.out))
        for exp in map(w.cmp.norm, w.out.expected_rows or []):
            act = actual.get(json.dumps([exp.get(c) for c in w.ident], default=str))
            if act is None:
                continue  # a missing window is window_count_accuracy's finding
            for col, want in exp.items():
                if col in w.ident:
                    continue
                compared += 1
                if not values_equal(want, act.get(col), tol):
                    wrong += 1
                    key = describe(exp, w.keys)
                    diff.append(
                        [
                            f"{w.name}: {key}" if len(ctx.outputs) > 1 else key,
                            describe(exp, w.window),
                            col,
                            cell(want),
                            cell(act.get(col)),
                        ]
                    )
    if compared == 0:
        return Outcome(
            name="aggregation_correctness", passed=False, summary="no common windows to compare"
        )
    share = (compared - wrong) / compared
    return Outcome(
        name="aggregation_correctness",
        passed=wrong == 0,
        summary=f"{compared - wrong} of {compared} aggregate values correct ({pct(share)})",
        measured=share,
        threshold=1.0,
        details=render(["key", "window", "aggregate", "expected", "actual"], diff, limit=30)
        if diff
        else None,
    )

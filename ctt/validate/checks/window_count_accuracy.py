"""window_count_accuracy: the job emitted exactly the expected windows (per key), no more, no less."""

from __future__ import annotations

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import actual_rows
from ctt.validate.checks._args import share
from ctt.validate.checks._table import describe, render
from ctt.validate.checks._windows import accuracy_outcome, windowed
from ctt.validate.registry import register


@register("window_count_accuracy", parse=share)
def check(threshold: float, ctx: ValidationContext) -> Outcome:
    """Windows are identified by the output's key columns (declared `expected.<t>.key`, else inferred).

    On failure: a table of the windows only one side has (key, window, expected, actual).
    """
    matched = total = 0
    tables = []
    for w in windowed(ctx):
        want = w.by_window(w.out.expected_rows or [])
        got = w.by_window(actual_rows(w.out))
        matched += len(want.keys() & got.keys())
        total += len(want.keys() | got.keys())
        measures = [c.name for c in w.out.columns if c.name not in w.ident]
        diff = []
        for k in sorted(want.keys() ^ got.keys()):
            row = want.get(k) or got[k]
            diff.append(
                [
                    describe(row, w.keys),
                    describe(row, w.window),
                    describe(want.get(k), measures) if k in want else "(no window)",
                    describe(got.get(k), measures) if k in got else "(no window)",
                ]
            )
        if diff:
            tables.append(
                f"{w.name}: {len(diff)} window(s) differ\n"
                + render(["key", "window", "expected", "actual"], diff)
            )
    return accuracy_outcome(
        "window_count_accuracy",
        matched,
        total,
        threshold,
        empty="no windows expected or produced",
        summary="{matched} of {total} windows agree ({acc})",
        sections=tables,
        prop="window_accuracy",
    )

"""window_count_accuracy: the job emitted exactly the expected windows (per key), no more, no less."""

from __future__ import annotations

import json
from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import Comparer, actual_rows
from ctt.validate.checks._args import pct, share
from ctt.validate.checks._table import describe, render, split_identity
from ctt.validate.registry import register

Row = dict[str, Any]


def by_window(rows: list[Row], ident: list[str], cmp: Comparer) -> dict[str, Row]:
    """Normalised rows keyed by their identity columns (key and window bounds)."""
    out: dict[str, Row] = {}
    for r in rows:
        n = cmp.norm(r)
        out[json.dumps([n.get(c) for c in ident], default=str)] = n
    return out


@register("window_count_accuracy", parse=share)
def check(threshold: float, ctx: ValidationContext) -> Outcome:
    """Windows are identified by the output's key columns (declared `expected.<t>.key`, else inferred).

    On failure: a table of the windows only one side has (key, window, expected, actual).
    """
    matched = total = 0
    tables = []
    for name, out in ctx.outputs.items():
        if out.expected_rows is None:
            continue
        ident = out.identity()
        keys, window = split_identity(ident)
        cmp = Comparer(out.columns, tolerance=out.tolerance, ignore=out.ignore_columns)
        want = by_window(out.expected_rows, ident, cmp)
        got = by_window(actual_rows(out), ident, cmp)
        matched += len(want.keys() & got.keys())
        total += len(want.keys() | got.keys())
        measures = [c.name for c in out.columns if c.name not in ident]
        diff = []
        for w in sorted(want.keys() ^ got.keys()):
            row = want.get(w) or got[w]
            diff.append(
                [
                    describe(row, keys),
                    describe(row, window),
                    describe(want.get(w), measures) if w in want else "(no window)",
                    describe(got.get(w), measures) if w in got else "(no window)",
                ]
            )
        if diff:
            tables.append(
                f"{name}: {len(diff)} window(s) differ\n"
                + render(["key", "window", "expected", "actual"], diff)
            )
    if total == 0:
        return Outcome(
            name="window_count_accuracy", passed=False, summary="no windows expected or produced"
        )
    acc = matched / total
    return Outcome(
        name="window_count_accuracy",
        passed=acc >= threshold,
        summary=f"{matched} of {total} windows agree ({pct(acc)})",
        measured=acc,
        threshold=threshold,
        details="\n\n".join(tables) or None,
        properties={"window_accuracy": f"{acc:.6f}"},
    )

"""window_count_accuracy: the job emitted exactly the expected windows (per key), no more, no less."""

from __future__ import annotations

import json
from typing import Any

from ctt.validate.base import Outcome, ValidationContext, actual_rows
from ctt.validate.checks._args import pct, share
from ctt.validate.registry import register
from ctt.validate.rows import Comparer


def window_ids(rows: list[dict[str, Any]], ident: list[str], cmp: Comparer) -> set[str]:
    return {json.dumps([cmp.norm(r).get(c) for c in ident], default=str) for r in rows}


@register("window_count_accuracy", parse=share)
def check(threshold: float, ctx: ValidationContext) -> Outcome:
    """Windows are identified by the output's key columns (declared `expected.<t>.key`, else inferred)."""
    matched = total = 0
    lines = []
    for name, out in ctx.outputs.items():
        if out.expected_rows is None:
            continue
        ident = out.identity()
        cmp = Comparer(out.columns, tolerance=out.tolerance, ignore=out.ignore_columns)
        want = window_ids(out.expected_rows, ident, cmp)
        got = window_ids(actual_rows(out), ident, cmp)
        matched += len(want & got)
        total += len(want | got)
        for w in sorted(want - got)[:10]:
            lines.append(f"{name}: missing window {ident}={w}")
        for w in sorted(got - want)[:10]:
            lines.append(f"{name}: unexpected window {ident}={w}")
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
        details="\n".join(lines) or None,
    )

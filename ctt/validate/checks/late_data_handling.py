"""late_data_handling: late events are dropped as the watermark says, and the outputs still agree."""

from __future__ import annotations

from typing import Any

from ctt.validate.base import Outcome, ValidationContext, compare
from ctt.validate.checks._args import flag
from ctt.validate.registry import register
from ctt.validate.rows import render_diff


@register("late_data_handling", parse=flag)
def check(arg: Any, ctx: ValidationContext) -> Outcome:
    """Late = behind the watermark when produced (ground truth); compared with Flink's late-records metric."""
    late = sum(1 for i in ctx.inputs if i.late)
    expected_dropped = ctx.extra.get("expected_late_dropped", late)
    dropped = ctx.metrics.late_records_dropped
    problems = []
    for name, out in ctx.outputs.items():
        m = compare(out)
        if m is not None and not m.perfect:
            problems.append(f"{name}: {render_diff(m)}")
    if dropped is not None and dropped != expected_dropped:
        problems.append(f"Flink dropped {dropped} late records, expected {expected_dropped}")
    summary = f"{late} late events sent, {expected_dropped} expected dropped, " + (
        f"Flink dropped {dropped}"
        if dropped is not None
        else "Flink's late-records metric unavailable"
    )
    return Outcome(
        name="late_data_handling",
        passed=not problems,
        summary=summary,
        measured=float(dropped) if dropped is not None else None,
        threshold=float(expected_dropped),
        details="\n".join(problems) or None,
        properties={"late_sent": str(late), "late_dropped": str(dropped)},
    )

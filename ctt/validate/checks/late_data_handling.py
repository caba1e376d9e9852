"""late_data_handling: late events are dropped as the watermark says, and the outputs still agree."""

from __future__ import annotations

from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import compare, render_diff
from ctt.validate.checks._args import flag
from ctt.validate.registry import register


@register("late_data_handling", parse=flag)
def check(arg: Any, ctx: ValidationContext) -> Outcome:
    """Late = behind its partition's watermark when produced (ground truth).

    Reports late events sent, how many the oracle says Flink must drop (only those
    whose every window had fired, after allowed lateness), how many Flink dropped
    (its ``numLateRecordsDropped``), and whether the outputs agree with the oracle.
    """
    late = sum(1 for i in ctx.inputs if i.late and not i.closing)
    predicted = ctx.extra.get("expected_late_dropped")
    expected_dropped = late if predicted is None else int(predicted)
    lateness_ms = int(ctx.extra.get("allowed_lateness_ms", 0) or 0)
    dropped = ctx.metrics.late_records_dropped
    problems = []
    agree = True
    for name, out in ctx.outputs.items():
        m = compare(out)
        if m is not None and not m.perfect:
            agree = False
            problems.append(f"{name}: outputs differ from the oracle\n{render_diff(m)}")
    if dropped is None:
        problems.append("Flink's late-records metric is unavailable")
    elif dropped != expected_dropped:
        problems.append(
            f"Flink dropped {dropped} late records, expected {expected_dropped}"
            + ("" if predicted is not None else " (every late event: no oracle prediction)")
        )
    parts = [
        f"{late} late events sent",
        f"{expected_dropped} expected dropped",
        f"Flink dropped {dropped}" if dropped is not None else "Flink's count unavailable",
        "outputs agree" if agree else "outputs differ",
    ]
    if lateness_ms:
        parts.append(f"allowed lateness {lateness_ms / 1000:g}s")
    return Outcome(
        name="late_data_handling",
        passed=not problems,
        summary=", ".join(parts),
        measured=float(dropped) if dropped is not None else None,
        threshold=float(expected_dropped),
        details="\n".join(problems) or None,
        properties={
            "late_sent": str(late),
            "late_expected_dropped": str(expected_dropped),
            "late_dropped": str(dropped),
            "allowed_lateness_ms": str(lateness_ms),
        },
    )

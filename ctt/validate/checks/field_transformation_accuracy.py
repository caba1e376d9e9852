"""field_transformation_accuracy: the share of expected rows the job produced exactly."""

from __future__ import annotations

from ctt.validate.base import Outcome, ValidationContext, compare
from ctt.validate.checks._args import pct, share
from ctt.validate.registry import register
from ctt.validate.rows import render_diff


@register("field_transformation_accuracy", parse=share)
def check(threshold: float, ctx: ValidationContext) -> Outcome:
    """Matched rows / max(expected, actual) over all outputs with expected rows, against a threshold."""
    matched = total = 0
    diffs = []
    for name, out in ctx.outputs.items():
        m = compare(out)
        if m is None:
            continue
        matched += m.matched
        total += max(m.expected, m.actual)
        if not m.perfect:
            diffs.append(f"{name}: {render_diff(m)}")
    if total == 0 and not diffs:
        return Outcome(
            name="field_transformation_accuracy",
            passed=False,
            summary="no expected rows to compare with (add `expected:` rows)",
        )
    accuracy = matched / total if total else 1.0
    return Outcome(
        name="field_transformation_accuracy",
        passed=accuracy >= threshold,
        summary=f"accuracy {pct(accuracy)} (threshold {pct(threshold)})",
        measured=accuracy,
        threshold=threshold,
        details="\n".join(diffs) or None,
    )

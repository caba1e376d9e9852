"""field_transformation_accuracy: the share of expected rows the job produced exactly."""

from __future__ import annotations

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import row_accuracy
from ctt.validate.checks._args import pct, share
from ctt.validate.registry import register


@register("field_transformation_accuracy", parse=share)
def check(threshold: float, ctx: ValidationContext) -> Outcome:
    """Matched rows / max(expected, actual) over all outputs with expected rows, against a threshold."""
    acc = row_accuracy(ctx)
    if acc.share is None:
        return Outcome(
            name="field_transformation_accuracy",
            passed=False,
            summary="no expected rows to compare with (add `expected:` rows)",
        )
    return Outcome(
        name="field_transformation_accuracy",
        passed=acc.share >= threshold,
        summary=f"accuracy {pct(acc.share)} (threshold {pct(threshold)})",
        measured=acc.share,
        threshold=threshold,
        details="\n".join(acc.diffs) or None,
    )

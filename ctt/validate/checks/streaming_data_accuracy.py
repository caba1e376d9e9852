"""streaming_data_accuracy: share of expected rows produced exactly, over all outputs (default 99.9%)."""

from __future__ import annotations

from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import row_accuracy
from ctt.validate.checks._args import pct, share
from ctt.validate.registry import register


def _parse(raw: Any) -> float:
    return 0.999 if raw is True else share(raw)


@register("streaming_data_accuracy", parse=_parse)
def check(threshold: float, ctx: ValidationContext) -> Outcome:
    acc = row_accuracy(ctx, diff_limit=10)
    value = acc.share or 0.0
    return Outcome(
        name="streaming_data_accuracy",
        passed=acc.share is not None and value >= threshold,
        summary=f"streaming data accuracy {pct(value)} (threshold {pct(threshold)})",
        measured=value,
        threshold=threshold,
        details="\n".join(acc.diffs) or None,
        properties={"streaming_data_accuracy": f"{value:.6f}"},
    )

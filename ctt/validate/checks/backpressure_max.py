"""backpressure_max: the highest backpressured share of any vertex, e.g. "10%" or 0.1."""

from __future__ import annotations

from typing import Any

from ctt.config.durations import parse_percent
from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._args import pct
from ctt.validate.registry import register


def _parse(raw: Any) -> float:
    if isinstance(raw, float) and 0 <= raw <= 1:
        return raw
    return parse_percent(raw)


@register("backpressure_max", parse=_parse)
def check(limit: float, ctx: ValidationContext) -> Outcome:
    """Flink's back pressure (``backPressuredTimeMsPerSecond`` per subtask), read while it runs.

    Read once the output is complete, so a bounded job that already finished has none to read:
    that is a failure that says so, not a pass (use `completion: quiet` for load tests).
    """
    value = ctx.metrics.backpressure_ratio
    if value is None:
        return Outcome(
            name="backpressure_max",
            passed=False,
            summary="back pressure was not measured (the job had finished): use "
            "`completion: quiet`",
        )
    passed = value <= limit
    return Outcome(
        name="backpressure_max",
        passed=passed,
        summary=f"max back pressure {pct(value)} ({'<=' if passed else '>'} {pct(limit)})",
        measured=value,
        threshold=limit,
        properties={"backpressure_max": f"{value:.3f}"},
    )

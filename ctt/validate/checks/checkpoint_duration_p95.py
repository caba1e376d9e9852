"""checkpoint_duration_p95: the 95th percentile of completed checkpoints' durations, e.g. "<2s"."""

from __future__ import annotations

import math

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._args import seconds
from ctt.validate.registry import register

_MIN_SAMPLES = 3


def p95(values: list[int]) -> int:
    """Nearest-rank 95th percentile: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@register("checkpoint_duration_p95", parse=seconds)
def check(limit_s: float, ctx: ValidationContext) -> Outcome:
    """End-to-end duration (trigger to last acknowledgement) of the checkpoints Flink lists.

    Needs at least three completed checkpoints: a percentile of one or two says nothing.
    Flink keeps the latest ones only (``web.checkpoints.history``, 10 by default).
    """
    name = "checkpoint_duration_p95"
    cps = ctx.metrics.checkpoints
    durations = cps.durations_ms if cps else []
    if len(durations) < _MIN_SAMPLES:
        return Outcome(
            name=name,
            passed=False,
            summary=f"{len(durations)} completed checkpoint(s), need {_MIN_SAMPLES}: shorten "
            "`state.checkpoint_interval` or run longer",
        )
    value = p95(durations) / 1000
    passed = value < limit_s
    return Outcome(
        name=name,
        passed=passed,
        summary=f"p95 {value * 1000:.0f} ms over {len(durations)} checkpoints "
        f"({'<' if passed else '>='} {limit_s * 1000:.0f} ms)",
        measured=value,
        threshold=limit_s,
        properties={"checkpoint_duration_p95_ms": f"{value * 1000:.0f}"},
    )

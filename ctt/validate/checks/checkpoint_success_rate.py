"""checkpoint_success_rate: the share of triggered checkpoints that completed, e.g. ">=99%"."""

from __future__ import annotations

from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._args import pct, share
from ctt.validate.registry import register


def _parse(raw: Any) -> float:
    return share(raw.strip().lstrip(">=").strip() if isinstance(raw, str) else raw)


@register("checkpoint_success_rate", parse=_parse)
def check(minimum: float, ctx: ValidationContext) -> Outcome:
    """Completed / (completed + failed) while the job ran, from Flink's checkpoint counts.

    Triggers that failed before every task was deployed are left out (counted apart): under
    load a job can take a minute to deploy, and Flink counts every trigger of that minute.

    A job that took no checkpoint fails this check: there is nothing to rate (set
    ``state.checkpoint_interval`` and let the job run longer than one interval).
    """
    name = "checkpoint_success_rate"
    cps = ctx.metrics.checkpoints
    if cps is None:
        return Outcome(name=name, passed=False, summary="the engine reports no checkpoints")
    props = {
        "checkpoints_completed": str(cps.completed),
        "checkpoints_failed": str(cps.failed_running),
        "checkpoints_failed_while_starting": str(cps.failed_while_starting),
    }
    if cps.triggered == 0:
        return Outcome(
            name=name,
            passed=False,
            summary="no checkpoint was triggered: set `state.checkpoint_interval` shorter than "
            "the job runs",
            properties=props,
        )
    rate = cps.completed / cps.triggered
    passed = rate >= minimum
    return Outcome(
        name=name,
        passed=passed,
        summary=f"{pct(rate)} of {cps.triggered} checkpoints completed "
        f"({'>=' if passed else '<'} {pct(minimum)})",
        measured=rate,
        threshold=minimum,
        properties=props,
    )

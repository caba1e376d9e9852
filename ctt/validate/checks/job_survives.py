"""job_survives: the job ran to the end without failing or restarting, bad records and all.

Restarts are counted from the job's exception history (Flink REST); a job that failed
never reaches this check unless ``job_fails_as_expected`` is also asked for, so it fails
here with Flink's root cause.
"""

from __future__ import annotations

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._args import flag
from ctt.validate.registry import register


@register("job_survives", parse=flag)
def check(enabled: bool, ctx: ValidationContext) -> Outcome:
    if not enabled:
        return Outcome(name="job_survives", passed=True, summary="disabled")
    failure = ctx.extra.get("job_failure")
    restarts = ctx.metrics.restarts
    if failure:
        return Outcome(
            name="job_survives", passed=False, summary=f"the job failed: {failure['summary']}"
        )
    if restarts:
        return Outcome(
            name="job_survives",
            passed=False,
            summary=f"the job restarted {restarts} time(s)",
            measured=float(restarts),
            threshold=0.0,
        )
    counted = "" if restarts is None else ", 0 restarts"
    return Outcome(
        name="job_survives",
        passed=True,
        summary=f"the job ran to the end{counted}",
        measured=None if restarts is None else 0.0,
        threshold=0.0,
    )

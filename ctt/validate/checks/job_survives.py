"""job_survives: the job ran to the end without failing, restarting at most as often as allowed.

``job_survives: true`` allows no restart: the runner fails the test at the first one.
``job_survives: {max_restarts: n, max_recovery_s: "30s"}`` lets Flink restart the job up to
``n`` times (its restart strategy must allow at least that many attempts); the runner keeps
the test going through each restart, times it (Flink's failure timestamp to every task running
again, see ``ctt.flinktest.restarts``) and this check passes when the job went down at most
``n`` times and none took longer than ``max_recovery_s`` to recover. Restart attempts that fail
again before the job runs (no slot while a lost TaskManager comes back) count as one restart
here; Flink's own count (``numRestarts``) is kept in the metrics as ``restarts``. A job that reaches FAILED fails the test at once,
with Flink's root cause.

Restarts are counted from Flink (``numRestarts``, else the exception history); a job that
failed never reaches this check unless ``job_fails_as_expected`` is also asked for, so it
fails here with Flink's root cause.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ctt.config.durations import parse_duration
from ctt.config.spec import FlinkTest
from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.registry import register

_NAME = "job_survives"
_SHAPE = "true, false or {max_restarts: n, max_recovery_s: duration}"


class Survival(BaseModel):
    """The argument: ``true`` (no restart allowed) or ``{max_restarts, max_recovery_s}``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    max_restarts: int = Field(0, ge=0, description="restarts the job may take and still pass")
    max_recovery_s: float | None = Field(
        None, gt=0, description="longest time to recover from any one restart"
    )

    @field_validator("max_recovery_s", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)

    def conflict(self, test: FlinkTest) -> str | None:
        """A restart budget the test's restart strategy cannot give: Flink gives up first, and
        the test would fail for a reason the spec set up itself (found at load, at its line)."""
        if self.max_restarts == 0:
            return None
        opts = {**(test.state.flink_options() if test.state else {}), **test.settings}
        kind = opts.get("restart-strategy.type", opts.get("restart-strategy", ""))
        if kind.lower() in ("none", "off", "disable"):
            return (
                f"max_restarts: {self.max_restarts} needs a restart strategy; "
                f"the test sets restart-strategy.type: {kind}"
            )
        if kind.lower().replace("-", "") == "fixeddelay":
            attempts = int(opts.get("restart-strategy.fixed-delay.attempts", "1"))
            if attempts < self.max_restarts:
                return (
                    f"max_restarts: {self.max_restarts}, but restart-strategy.fixed-delay."
                    f"attempts is {attempts}: Flink fails the job after {attempts} restart(s)"
                )
        return None


def parse(raw: Any) -> Survival:
    if isinstance(raw, bool):
        return Survival(enabled=raw)
    if isinstance(raw, dict):
        try:
            return Survival.model_validate(raw)
        except (ValidationError, ValueError) as exc:
            errors = exc.errors() if isinstance(exc, ValidationError) else []
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors
            ) or str(exc)
            raise ValueError(f"expected {_SHAPE} ({problems})") from None
    raise ValueError(f"expected {_SHAPE}, got {raw!r}")


def _properties(ctx: ValidationContext) -> dict[str, str]:
    props: dict[str, str] = {}
    for i, r in enumerate(ctx.restarts, 1):
        props[f"restart_{i}_recovery_s"] = "unknown" if r.seconds is None else f"{r.seconds:.2f}"
        if r.cause:
            props[f"restart_{i}_cause"] = r.cause[:300]
    return props


@register(_NAME, parse=parse)
def check(want: Survival, ctx: ValidationContext) -> Outcome:
    if not want.enabled:
        return Outcome(name=_NAME, passed=True, summary="disabled")
    failure = ctx.extra.get("job_failure")
    if failure:
        return Outcome(name=_NAME, passed=False, summary=f"the job failed: {failure['summary']}")
    # Watched recoveries when the runner watched them (restart attempts that found no slot are
    # part of one), else Flink's restart count.
    restarts = len(ctx.restarts) if ctx.restarts else ctx.metrics.restarts or 0
    counted = ctx.metrics.restarts is not None or bool(ctx.restarts)
    attempts = sum(r.failures for r in ctx.restarts)
    props = _properties(ctx)
    timed = [r.seconds for r in ctx.restarts if r.seconds is not None]
    slowest = max(timed, default=None)
    recovery = (
        f", time to recover {', '.join(f'{s:.1f}s' for s in timed)}"
        if timed
        else (", time to recover not measured" if restarts else "")
    )
    if attempts > len(ctx.restarts):
        recovery += f" ({attempts} restart attempts in Flink)"
    problems = []
    if restarts > want.max_restarts:
        problems.append(
            f"the job restarted {restarts} time(s) (at most {want.max_restarts} allowed)"
        )
    if want.max_recovery_s is not None and slowest is not None and slowest > want.max_recovery_s:
        problems.append(f"a restart took {slowest:.1f}s to recover (max {want.max_recovery_s:g}s)")
    if problems:
        return Outcome(
            name=_NAME,
            passed=False,
            summary="; ".join(problems) + recovery,
            measured=float(restarts),
            threshold=float(want.max_restarts),
            properties=props,
        )
    told = f", {restarts} restart(s){recovery}" if counted else ""
    return Outcome(
        name=_NAME,
        passed=True,
        summary=f"the job ran to the end{told}",
        measured=float(restarts) if counted else None,
        threshold=float(want.max_restarts),
        properties=props,
    )

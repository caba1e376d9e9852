"""job_fails_as_expected: the job fails, with the root cause the spec names (and restarts).

The argument is the expected root cause (text found, case-insensitively, in Flink's cause
chain: ``ArithmeticException`` or ``/ by zero``), or ``{root_cause: ..., restarts: n}``
where ``restarts`` is how many times Flink restarted the job before giving up (the local
stack's fixed-delay strategy allows 2). It catches a job that survives a record it must
not, or that fails for another reason; it cannot tell which record made it fail (the
error report names the ground truth's poison record beside Flink's cause).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.registry import register

_NAME = "job_fails_as_expected"


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root_cause: str
    restarts: int | None = None


def parse(raw: Any) -> Expectation:
    if isinstance(raw, str) and raw.strip():
        return Expectation(root_cause=raw.strip())
    if isinstance(raw, dict):
        try:
            return Expectation.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"expected {{root_cause: text, restarts: n}} ({problems})") from None
    raise ValueError(
        f"expected the root cause text or {{root_cause: ..., restarts: n}}, got {raw!r}"
    )


@register(_NAME, parse=parse)
def check(want: Expectation, ctx: ValidationContext) -> Outcome:
    failure = ctx.extra.get("job_failure")
    if not failure:
        return Outcome(
            name=_NAME,
            passed=False,
            summary=f"the job did not fail (expected {want.root_cause!r})",
        )
    root = f"{failure.get('exception')}: {failure.get('message')}"
    chain = f"{failure['summary']}\n{root}\n{failure.get('trace') or ''}"
    problems = []
    if want.root_cause.lower() not in chain.lower():
        problems.append(f"the job failed for another reason: {failure['summary']}")
    restarts = failure.get("restarts")
    if want.restarts is not None and restarts != want.restarts:
        problems.append(f"{restarts} restarts before it failed (expected {want.restarts})")
    where = f" at {failure['where']}" if failure.get("where") else ""
    return Outcome(
        name=_NAME,
        passed=not problems,
        summary="; ".join(problems)
        or f"failed as expected{where}: {failure['summary']} (after {restarts} restarts)",
        measured=None if restarts is None else float(restarts),
        threshold=None if want.restarts is None else float(want.restarts),
        details=failure.get("report"),
    )

"""``ctt trigger``: start a pipeline through GitLab's pipeline trigger API, and follow it.

Watching polls ``GET /projects/:id/pipelines/:id`` with a growing interval (from ``first`` up to
``longest``) until the pipeline reaches a final status or the deadline passes; the exit code is
the pipeline's outcome: success 0, failed/canceled/skipped or blocked on a manual job 1, still
running at the deadline 3.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ctt.ci.gitlab import GitLab, Pipeline
from ctt.errors import InfraError, TestsFailed, UsageError
from ctt.polling import Backoff

__all__ = ["FINAL", "Poll", "outcome", "parse_variables", "watch"]

FINAL = frozenset({"success", "failed", "canceled", "skipped", "manual"})
"""GitLab pipeline statuses that will not change by themselves (``manual``: blocked on a job)."""


@dataclass(frozen=True)
class Poll:
    first: float = 2.0
    longest: float = 30.0
    deadline: float = 3600.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)


def parse_variables(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs (``--variable``), in order; a usage error for anything else."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--variable {item!r} is not KEY=VALUE")
        out[key.strip()] = value
    return out


def watch(
    api: GitLab,
    pipeline_id: int,
    poll: Poll | None = None,
    on_change: Callable[[Pipeline], None] | None = None,
) -> Pipeline:
    """Poll until the pipeline is final; InfraError when the deadline passes first."""
    poll = poll or Poll()
    end = poll.clock() + poll.deadline
    interval = Backoff(poll.longest, first=poll.first, growth=2.0)
    seen: str | None = None
    while True:
        current = api.pipeline(pipeline_id)
        if current.status != seen:
            seen = current.status
            if on_change is not None:
                on_change(current)
        if current.status in FINAL:
            return current
        left = end - poll.clock()
        if left <= 0:
            raise InfraError(
                f"pipeline {pipeline_id} is still {current.status} after {poll.deadline:.0f}s",
                hint=f"follow it at {current.web_url}" if current.web_url else None,
            )
        poll.sleep(min(interval.next_interval(), left))


def outcome(pipeline: Pipeline) -> None:
    """Raise TestsFailed unless the pipeline succeeded."""
    if pipeline.status == "success":
        return
    what = "waits for a manual job" if pipeline.status == "manual" else f"ended {pipeline.status}"
    where = f" ({pipeline.web_url})" if pipeline.web_url else ""
    raise TestsFailed(f"pipeline {pipeline.id} {what}{where}")

"""What a scheduled pipeline should run: cron fires, maintenance windows, the combined selection.

Pure functions of the configuration and a time: the same ``--at`` always gives the same answer.
A schedule is *due* at ``at`` when its latest fire (in its own time zone) is at most
``tolerance`` before ``at`` (GitLab starts scheduled pipelines a few minutes late), or when the
pipeline names it (``CTT_SCHEDULE``, set by ``ctt schedule sync``: a "run now" counts too). A
due run inside a maintenance window is skipped or deferred, with the window's reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import BaseModel, Field

from ctt.config.schedules import (
    MaintenanceWindow,
    Schedule,
    ScheduleMode,
    SchedulesConfig,
    WindowAction,
)
from ctt.errors import UsageError

__all__ = [
    "Action",
    "DueReport",
    "NextFire",
    "ScheduleDecision",
    "decide",
    "due",
    "last_fire",
    "next_fires",
    "upcoming",
    "window_at",
]


class Action(StrEnum):
    RUN = "run"
    SKIP = "skip"
    DEFER = "defer"
    NOT_DUE = "not-due"


class NextFire(BaseModel):
    schedule: str
    cron: str
    timezone: str
    at: datetime
    window: str | None = Field(None, description="the maintenance window this fire falls into")
    action: Action = Action.RUN


class ScheduleDecision(BaseModel):
    schedule: str
    action: Action
    at: datetime = Field(description="when the decision was made (--at)")
    fired_at: datetime | None = Field(None, description="the cron fire this run belongs to")
    mode: ScheduleMode
    suites: list[str] = Field(default_factory=list)
    variables: dict[str, str] = Field(default_factory=dict)
    window: str | None = None
    reason: str | None = None
    deferred_until: datetime | None = None


class DueReport(BaseModel):
    """Every schedule's decision at one time, and what the pipeline runs from them."""

    at: datetime
    decisions: list[ScheduleDecision]

    @property
    def running(self) -> list[ScheduleDecision]:
        return [d for d in self.decisions if d.action is Action.RUN]

    def selection(self) -> tuple[str | None, list[str]]:
        """(TEST_SELECTION_MODE, suites): full if any running schedule is full; None: nothing."""
        running = self.running
        if not running:
            return None, []
        if any(d.mode is ScheduleMode.FULL for d in running):
            return ScheduleMode.FULL.value, []
        return ScheduleMode.MANUAL.value, sorted({s for d in running for s in d.suites})


def _local(at: datetime, zone: str) -> datetime:
    if at.tzinfo is None:
        raise UsageError(
            f"time {at.isoformat()} has no UTC offset", hint="write e.g. 2026-12-02T02:00Z"
        )
    return at.astimezone(ZoneInfo(zone))


def last_fire(schedule: Schedule, at: datetime) -> datetime:
    """The latest fire at or before ``at``."""
    start = _local(at, schedule.timezone) + timedelta(seconds=1)
    fired: datetime = croniter(schedule.cron, start).get_prev(datetime)
    return fired


def next_fires(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fires strictly after ``after``."""
    it = croniter(schedule.cron, _local(after, schedule.timezone))
    return [it.get_next(datetime) for _ in range(count)]


def window_at(
    windows: Iterable[MaintenanceWindow], schedule: str, at: datetime
) -> tuple[MaintenanceWindow, datetime] | None:
    """The first window covering ``at`` that applies to ``schedule``, with that occurrence's end."""
    for window in windows:
        if window.schedules and schedule not in window.schedules:
            continue
        span = window.covering(at)
        if span is not None:
            return window, span[1]
    return None


def decide(
    config: SchedulesConfig, schedule: Schedule, at: datetime, fired_at: datetime | None
) -> ScheduleDecision:
    """The decision for one due fire (``fired_at``; None: not due) at time ``at``."""
    base = ScheduleDecision(
        schedule=schedule.name,
        action=Action.NOT_DUE,
        at=at,
        fired_at=fired_at,
        mode=schedule.mode,
        suites=list(schedule.suites),
        variables=dict(schedule.variables),
    )
    if fired_at is None:
        return base
    hit = window_at(config.maintenance_windows, schedule.name, at)
    if hit is None:
        return base.model_copy(update={"action": Action.RUN})
    window, end = hit
    action = Action.DEFER if window.action is WindowAction.DEFER else Action.SKIP
    verb = f"deferred until {end.isoformat()}" if action is Action.DEFER else "skipped"
    return base.model_copy(
        update={
            "action": action,
            "window": window.name,
            "reason": f"{verb}: maintenance window {window.name!r}: {window.reason}",
            "deferred_until": end if action is Action.DEFER else None,
        }
    )


def due(config: SchedulesConfig, at: datetime, *, only: str | None = None) -> DueReport:
    """Each schedule's decision at ``at``; ``only``: the pipeline says which schedule it is."""
    if only is not None and only not in config.schedules:
        names = ", ".join(config.schedules) or "none"
        raise UsageError(f"no schedule {only!r} in the schedules file", hint=f"schedules: {names}")
    decisions = []
    for name, schedule in config.schedules.items():
        if only is not None and name != only:
            continue
        fired: datetime | None
        if only is not None:
            fired = at  # GitLab started this schedule's pipeline: it is due whenever it runs
        elif not schedule.active:
            fired = None
        else:
            last = last_fire(schedule, at)
            fired = last if at - last <= timedelta(seconds=config.tolerance) else None
        decisions.append(decide(config, schedule, at, fired))
    return DueReport(at=at, decisions=decisions)


def upcoming(config: SchedulesConfig, after: datetime, count: int) -> list[NextFire]:
    """The next ``count`` fires of every schedule, each with the window it would fall into."""
    out = []
    for name, schedule in config.schedules.items():
        if not schedule.active:
            continue
        for at in next_fires(schedule, after, count):
            hit = window_at(config.maintenance_windows, name, at)
            action = Action.RUN
            if hit is not None:
                action = Action.DEFER if hit[0].action is WindowAction.DEFER else Action.SKIP
            out.append(
                NextFire(
                    schedule=name,
                    cron=schedule.cron,
                    timezone=schedule.timezone,
                    at=at,
                    window=hit[0].name if hit else None,
                    action=action,
                )
            )
    out.sort(key=lambda f: (f.at, f.schedule))
    return out

"""Scheduled test runs (``continuous-testing/config/schedules.yaml``).

Each schedule is a cron expression (five fields, in its ``timezone``) for one set of suites: the
full catalogue (``mode: full``) or named suites (``mode: manual``). Maintenance windows (fixed, or
recurring by cron plus a duration) skip or defer the runs that fall inside them. ``ctt schedule
sync`` makes the project's GitLab pipeline schedules match this file.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ctt.config.durations import Duration
from ctt.config.yaml_source import load_yaml, parse_model, suggest

__all__ = [
    "DEFAULT_SCHEDULES_FILE",
    "MaintenanceWindow",
    "Schedule",
    "ScheduleMode",
    "SchedulesConfig",
    "WindowAction",
    "load_schedules",
]

DEFAULT_SCHEDULES_FILE = Path("continuous-testing/config/schedules.yaml")


class ScheduleMode(StrEnum):
    FULL = "full"  # every suite of the catalogue
    MANUAL = "manual"  # the suites named in `suites`


class WindowAction(StrEnum):
    SKIP = "skip"  # the run does not happen; the next fire runs as usual
    DEFER = "defer"  # the run happens at the first `ctt schedule due` after the window


def _cron(value: str) -> str:
    text = " ".join(value.split())
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise ValueError(
            f"{value!r} is not a cron expression; write five fields: minute hour day month weekday, "
            "e.g. '0 2 * * *'"
        )
    return text


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; write an IANA name like 'Europe/Berlin'"
        ) from None
    return value


Cron = Annotated[str, AfterValidator(_cron)]
TimeZone = Annotated[str, AfterValidator(_zone)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    name: str = ""
    description: str | None = Field(
        None, description="GitLab's schedule description (default: ctt: NAME)"
    )
    cron: Cron
    timezone: TimeZone = "UTC"
    ref: str = "main"
    mode: ScheduleMode = ScheduleMode.FULL
    suites: list[str] = Field(default_factory=list, description="mode manual: the suites to run")
    variables: dict[str, str] = Field(default_factory=dict, description="pipeline variables")
    active: bool = True
    regression: bool = Field(
        True, description="compare each run with the last good run of this schedule"
    )

    @model_validator(mode="after")
    def _suites_for_mode(self) -> Schedule:
        if self.mode is ScheduleMode.MANUAL and not self.suites:
            raise ValueError("a 'manual' schedule needs 'suites'")
        if self.mode is ScheduleMode.FULL and self.suites:
            raise ValueError("'suites' is for mode 'manual'; a 'full' schedule runs every suite")
        return self

    @property
    def gitlab_description(self) -> str:
        return self.description or f"ctt: {self.name}"


class MaintenanceWindow(_Strict):
    """A time when scheduled runs must not start: fixed (start, end) or recurring (cron, duration)."""

    name: str
    reason: str = Field(description="logged and shown in the report with each skipped run")
    action: WindowAction = WindowAction.SKIP
    start: datetime | None = None
    end: datetime | None = None
    cron: Cron | None = None
    duration: Duration | None = None
    timezone: TimeZone = "UTC"
    schedules: list[str] = Field(default_factory=list, description="default: every schedule")

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceWindow:
        fixed = self.start is not None or self.end is not None
        recurring = self.cron is not None or self.duration is not None
        if fixed == recurring:
            raise ValueError(
                "a window is either fixed ('start' and 'end') or recurring ('cron' and 'duration')"
            )
        if fixed:
            if self.start is None or self.end is None:
                raise ValueError("a fixed window needs both 'start' and 'end'")
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError("'start' and 'end' need a UTC offset, e.g. 2026-12-05T00:00:00Z")
            if self.end <= self.start:
                raise ValueError("'end' must be after 'start'")
        elif self.cron is None or not self.duration:
            raise ValueError("a recurring window needs 'cron' and a positive 'duration'")
        return self

    def covering(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The (start, end) of this window's occurrence that contains ``at``, or None."""
        if self.start is not None and self.end is not None:
            return (self.start, self.end) if self.start <= at < self.end else None
        assert self.cron is not None and self.duration is not None
        local = at.astimezone(ZoneInfo(self.timezone))
        began: datetime = croniter(self.cron, local + timedelta(seconds=1)).get_prev(datetime)
        end = began + timedelta(seconds=self.duration)
        return (began, end) if began <= local < end else None


class SchedulesConfig(_Strict):
    schedules: dict[str, Schedule]
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)
    tolerance: Duration = Field(
        1800.0, description="how late a pipeline may start after a fire and still count as due"
    )

    @model_validator(mode="after")
    def _names(self) -> SchedulesConfig:
        for name, schedule in self.schedules.items():
            object.__setattr__(schedule, "name", name)
        for i, window in enumerate(self.maintenance_windows):
            for target in window.schedules:
                if target not in self.schedules:
                    near = suggest(target, self.schedules)
                    raise ValueError(
                        f"maintenance window {i + 1} ({window.name}) names schedule {target!r}, "
                        f"which is not defined{f'; did you mean {near!r}?' if near else ''}"
                    )
        return self


def load_schedules(
    path: Path | str = DEFAULT_SCHEDULES_FILE, *, known_suites: set[str] | None = None
) -> SchedulesConfig:
    """Load and validate; errors carry file:line:col. ``known_suites``: check suite names too."""
    data, smap = load_yaml(path)
    config = parse_model(SchedulesConfig, data, smap)
    if known_suites is not None:
        for name, schedule in config.schedules.items():
            for i, suite in enumerate(schedule.suites):
                if suite not in known_suites:
                    near = suggest(suite, known_suites)
                    raise smap.error(
                        f"schedule {name!r} names suite {suite!r}, which is not in the catalogue",
                        ("schedules", name, "suites", i),
                        hint=f"did you mean {near!r}?" if near else "see suites.yaml",
                    )
    return config

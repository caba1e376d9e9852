"""Scheduled runs in the history store: the decision log, deferred runs, and the regression check.

One table next to the history store's own (created on first use, so an existing database needs
no migration): every decision ``ctt schedule due`` made (run, skip, defer, with the maintenance
window's reason), which run a schedule produced (``ctt schedule regression``), and deferred
fires until a later ``due`` runs them. A scheduled run is compared with the *last good run of
the same schedule* (no failed or errored test), not with the previous run, so a regression
stays visible on every run until it is fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field

from ctt.ci.history import HistoryStore, cases_t, runs_t, suites_t
from ctt.ci.schedule import Action, DueReport, decide
from ctt.config.schedules import SchedulesConfig
from ctt.report.metrics import TestMetrics
from ctt.report.model import Status as CaseStatus

__all__ = [
    "ScheduleRegression",
    "SlowerSuite",
    "compare_with_last_good",
    "log_decisions",
    "record_run",
    "resolve_deferred",
]

_meta = sa.MetaData()
events_t = sa.Table(
    "ctt_schedule_events",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("schedule", sa.String(255), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # run, skip, defer, ran
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("fired_at", sa.DateTime(timezone=True)),
    sa.Column("window", sa.String(255)),
    sa.Column("reason", sa.Text),
    sa.Column("deferred_until", sa.DateTime(timezone=True)),
    sa.Column("resolved", sa.Boolean, nullable=False, default=False),
    sa.Column("run_key", sa.String(200), index=True),
)
_RAN = "ran"


def _table(store: HistoryStore) -> None:
    _meta.create_all(store.engine)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def log_decisions(store: HistoryStore, report: DueReport) -> None:
    """Store every run/skip/defer decision (not-due ones are not news)."""
    _table(store)
    rows = [
        {
            "schedule": d.schedule,
            "action": d.action.value,
            "decided_at": d.at,
            "fired_at": d.fired_at,
            "window": d.window,
            "reason": d.reason,
            "deferred_until": d.deferred_until,
            "resolved": d.action is not Action.DEFER,
        }
        for d in report.decisions
        if d.action is not Action.NOT_DUE
    ]
    if rows:
        with store.engine.begin() as conn:
            conn.execute(events_t.insert(), rows)


def resolve_deferred(store: HistoryStore, config: SchedulesConfig, report: DueReport) -> DueReport:
    """``report`` plus the deferred fires whose window has ended by ``report.at``: run them now.

    A deferred fire whose schedule already runs now is folded into that run; one that meets
    another window is deferred (or skipped) again by it. Either way the old entry is resolved.
    """
    _table(store)
    at = report.at
    q = sa.select(events_t).where(
        events_t.c.action == Action.DEFER.value,
        events_t.c.resolved.is_(False),
        events_t.c.deferred_until <= at,
    )
    decisions = list(report.decisions)
    with store.engine.begin() as conn:
        pending = conn.execute(q.order_by(events_t.c.id)).mappings().all()
        for row in pending:
            conn.execute(events_t.update().where(events_t.c.id == row["id"]).values(resolved=True))
            schedule = config.schedules.get(row["schedule"])
            if schedule is None:
                continue  # removed from the file since
            if any(d.schedule == schedule.name and d.action is Action.RUN for d in decisions):
                continue
            late = decide(config, schedule, at, _aware(row["fired_at"]))
            if late.action is Action.RUN:
                fired = _aware(row["fired_at"])
                when = fired.isoformat() if fired else "?"
                reason = f"deferred run of the {when} fire: window {row['window']!r} has ended"
                late = late.model_copy(update={"reason": reason})
            decisions = [d for d in decisions if d.schedule != schedule.name] + [late]
    return DueReport(at=at, decisions=decisions)


def record_run(store: HistoryStore, schedule: str, run_key: str, at: datetime) -> None:
    """Remember that ``run_key`` (a recorded run) is a run of ``schedule``."""
    _table(store)
    with store.engine.begin() as conn:
        conn.execute(
            events_t.delete().where(events_t.c.action == _RAN, events_t.c.run_key == run_key)
        )
        conn.execute(
            events_t.insert().values(
                schedule=schedule, action=_RAN, decided_at=at, run_key=run_key, resolved=True
            )
        )


class SlowerSuite(BaseModel):
    suite: str
    duration: float
    good_duration: float
    change: float = Field(description="relative: 0.5 = 50% slower than the last good run")


class ScheduleRegression(BaseModel):
    """One scheduled run against the last good run of its schedule."""

    schedule: str
    run_key: str
    good_run: str | None = Field(None, description="None: this schedule has no good run yet")
    good_run_at: datetime | None = None
    new_failures: list[str] = Field(
        default_factory=list, description="failing now, passed (or absent) in the good run"
    )
    pass_rate: float
    good_pass_rate: float | None = None
    slower_suites: list[SlowerSuite] = Field(default_factory=list)
    max_slowdown: float

    @property
    def regressed(self) -> bool:
        return bool(self.new_failures or self.slower_suites)


_FAILING = (CaseStatus.FAILED.value, CaseStatus.ERROR.value)


def compare_with_last_good(
    store: HistoryStore, schedule: str, metrics: TestMetrics, *, max_slowdown: float = 0.25
) -> ScheduleRegression:
    """Compare the run in ``metrics`` (already recorded by ``ctt aggregate``) with the last good
    run of ``schedule``: tests failing now that did not fail then, suites more than
    ``max_slowdown`` slower, and the pass rate then and now."""
    _table(store)
    key = metrics.run.run_key
    good_q = (
        sa.select(
            runs_t.c.run_key,
            runs_t.c.created_at,
            runs_t.c.passed,
            runs_t.c.tests,
            runs_t.c.skipped,
            runs_t.c.id,
        )
        .join(events_t, events_t.c.run_key == runs_t.c.run_key)
        .where(
            events_t.c.schedule == schedule,
            events_t.c.action == _RAN,
            runs_t.c.run_key != key,
            runs_t.c.failed == 0,
            runs_t.c.errors == 0,
        )
        .order_by(runs_t.c.created_at.desc(), runs_t.c.id.desc())
        .limit(1)
    )
    now_failing_q = (
        sa.select(cases_t.c.test_key)
        .join(runs_t, runs_t.c.id == cases_t.c.run_id)
        .where(runs_t.c.run_key == key, cases_t.c.status.in_(_FAILING))
    )
    with store.engine.connect() as conn:
        good = conn.execute(good_q).mappings().first()
        failing = sorted({r[0] for r in conn.execute(now_failing_q)})
        before: dict[str, float] = {}
        if good is not None:
            before = {
                str(n): float(d)
                for n, d in conn.execute(
                    sa.select(suites_t.c.name, suites_t.c.duration).where(
                        suites_t.c.run_id == good["id"], suites_t.c.status == "passed"
                    )
                )
            }
    if good is None:
        return ScheduleRegression(
            schedule=schedule,
            run_key=key,
            new_failures=failing,
            pass_rate=metrics.totals.pass_rate,
            max_slowdown=max_slowdown,
        )
    # a good run has no failing test, so everything failing now is new against it
    slower = [
        SlowerSuite(
            suite=s.name,
            duration=s.duration,
            good_duration=before[s.name],
            change=s.duration / before[s.name] - 1.0,
        )
        for s in metrics.suites
        if before.get(s.name, 0.0) > 0 and s.duration > before[s.name] * (1.0 + max_slowdown)
    ]
    slower.sort(key=lambda s: -s.change)
    ran = good["tests"] - good["skipped"]
    return ScheduleRegression(
        schedule=schedule,
        run_key=key,
        good_run=good["run_key"],
        good_run_at=_aware(good["created_at"]),
        new_failures=failing,
        pass_rate=metrics.totals.pass_rate,
        good_pass_rate=good["passed"] / ran if ran else 1.0,
        slower_suites=slower,
        max_slowdown=max_slowdown,
    )

"""``ctt schedule``: next fires, what a scheduled pipeline runs now, GitLab sync, regression check.

``due`` is what the scheduled pipeline's select step calls: it decides (cron fires, maintenance
windows, deferred runs from the history store), logs every decision there and writes a dotenv
file with TEST_SELECTION_MODE / TEST_SUITES / CTT_SCHEDULE_ACTION for the next step.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table

from ctt.ci.schedule import Action, DueReport, NextFire, due, upcoming
from ctt.ci.schedule_runs import ScheduleRegression
from ctt.ci.schedule_sync import SyncAction, SyncChange
from ctt.config.schedules import DEFAULT_SCHEDULES_FILE, SchedulesConfig, load_schedules
from ctt.config.suites import DEFAULT_SUITES_FILE, load_suites
from ctt.console import Output
from ctt.errors import TestsFailed, UsageError

__all__ = ["due_cmd", "next_cmd", "parse_time", "regression_cmd", "sync_cmd"]


def parse_time(text: str | None) -> datetime:
    """``now`` (or nothing), or an ISO 8601 time with a UTC offset (``Z`` allowed)."""
    if not text or text == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--at {text!r} is not a time", hint="write e.g. 2026-12-02T02:05:00Z or now"
        ) from None
    if at.tzinfo is None:
        raise UsageError(f"--at {text!r} has no UTC offset", hint="append Z or +01:00")
    return at


def _load(path: Path, suites: Path | None) -> SchedulesConfig:
    catalogue = suites or (DEFAULT_SUITES_FILE if DEFAULT_SUITES_FILE.exists() else None)
    known = set(load_suites(catalogue).suites) if catalogue is not None else None
    return load_schedules(path, known_suites=known)


def next_cmd(
    out: Output, *, config: Path = DEFAULT_SCHEDULES_FILE, count: int = 3, after: str | None = None
) -> list[NextFire]:
    fires = upcoming(_load(config, None), parse_time(after), count)
    if out.json_mode:
        out.emit_json([f.model_dump(mode="json") for f in fires])
        return fires
    table = Table(title="next scheduled runs")
    for col in ("schedule", "at", "cron", "action", "window"):
        table.add_column(col)
    for f in fires:
        table.add_row(
            f.schedule, f.at.isoformat(), f"{f.cron} ({f.timezone})", f.action.value, f.window or ""
        )
    out.table(table)
    return fires


def _dotenv(report: DueReport) -> str:
    mode, suites = report.selection()
    actions = {d.action for d in report.decisions}
    action = (
        "run"
        if mode
        else "defer"
        if Action.DEFER in actions
        else "skip"
        if Action.SKIP in actions
        else "none"
    )
    names = ",".join(d.schedule for d in report.running)
    lines = {
        "CTT_SCHEDULE_ACTION": action,
        "CTT_SCHEDULE_RUNS": names,
        "TEST_SELECTION_MODE": mode or "",
        "TEST_SUITES": ",".join(suites),
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def due_cmd(
    out: Output,
    *,
    at: str | None = None,
    schedule: str | None = None,
    config: Path = DEFAULT_SCHEDULES_FILE,
    history: str | None = None,
    record: bool = True,
    dotenv: Path | None = None,
    output: Path | None = None,
) -> DueReport:
    """Decide what runs now; log decisions; write the dotenv and the decision document."""
    from ctt.ci.history import HistoryStore, database_url
    from ctt.ci.schedule_runs import log_decisions, resolve_deferred

    cfg = _load(config, None)
    report = due(cfg, parse_time(at), only=schedule or None)
    if record:
        with HistoryStore.open(database_url(history or os.environ.get("CTT_HISTORY_URL"))) as store:
            report = resolve_deferred(store, cfg, report)
            log_decisions(store, report)
    if dotenv is not None:
        dotenv.write_text(_dotenv(report), encoding="utf-8")
    if output is not None:
        output.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    if out.json_mode:
        out.emit_json(report)
        return report
    for d in report.decisions:
        if d.action is Action.RUN:
            what = "every suite" if not d.suites else ", ".join(d.suites)
            extra = f" ({d.reason})" if d.reason else ""
            out.info(f"{d.schedule}: run {what}{extra}")
        elif d.action is not Action.NOT_DUE:
            out.warn(f"{d.schedule}: {d.reason}")
    if not any(d.action is not Action.NOT_DUE for d in report.decisions):
        out.info(f"no schedule is due at {report.at.isoformat()}")
    return report


def sync_cmd(
    out: Output,
    *,
    config: Path = DEFAULT_SCHEDULES_FILE,
    api_url: str | None = None,
    project: str | None = None,
    prune: bool = False,
    dry_run: bool = False,
) -> list[SyncChange]:
    from ctt.ci.gitlab import TOKEN_ENV, GitLab, env_token
    from ctt.ci.schedule_sync import apply, existing_schedules, plan

    cfg = _load(config, None)
    token = env_token(TOKEN_ENV, "GitLab token")
    with GitLab(api_url, project, token=token) as api:
        changes = plan(cfg, existing_schedules(api), prune=prune)
        if not dry_run:
            changes = apply(api, changes)
    if out.json_mode:
        out.emit_json([c.model_dump(mode="json") for c in changes])
        return changes
    verb = "would " if dry_run else ""
    for c in changes:
        if c.action is SyncAction.UNCHANGED:
            out.info(f"{c.schedule}: up to date (schedule {c.gitlab_id})")
            continue
        what = ", ".join([*c.fields, *(f"variable {k}" for k in c.set_variables)])
        gone = f"; delete variables {', '.join(c.delete_variables)}" if c.delete_variables else ""
        ident = f" schedule {c.gitlab_id}" if c.gitlab_id else ""
        out.info(f"{c.schedule}: {verb}{c.action.value}{ident} ({what}){gone}")
    return changes


def regression_cmd(
    out: Output,
    *,
    schedule: str,
    metrics_path: Path = Path("test-metrics.json"),
    history: str | None = None,
    max_slowdown: float = 0.25,
    output: Path | None = None,
    fail: bool = False,
) -> ScheduleRegression:
    """Record the aggregated run as a run of ``schedule``; compare with its last good run."""
    from ctt.ci.history import HistoryStore, database_url
    from ctt.ci.schedule_runs import compare_with_last_good, record_run
    from ctt.report.metrics import load_metrics

    metrics = load_metrics(metrics_path)
    with HistoryStore.open(database_url(history or os.environ.get("CTT_HISTORY_URL"))) as store:
        result = compare_with_last_good(store, schedule, metrics, max_slowdown=max_slowdown)
        record_run(store, schedule, metrics.run.run_key, metrics.run.created_at)
    if output is not None:
        output.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    if out.json_mode:
        out.emit_json(result)
    elif result.good_run is None:
        out.info(
            f"{schedule}: no good run of this schedule yet; this run is the first to compare with"
        )
    else:
        out.info(
            f"{schedule}: against good run {result.good_run}: {len(result.new_failures)} new failures, "
            f"{len(result.slower_suites)} suites slower than +{max_slowdown * 100:.0f}%"
        )
        for t in result.new_failures[:20]:
            out.warn(f"new failure: {t}")
        for s in result.slower_suites:
            out.warn(
                f"slower: {s.suite} {s.duration:.1f}s (was {s.good_duration:.1f}s, +{s.change * 100:.0f}%)"
            )
    if fail and result.regressed:
        raise TestsFailed(f"scheduled run {schedule} regressed against {result.good_run}")
    return result

"""schedules.yaml, what is due when, maintenance windows, deferred runs and the regression check
against the last good run of a schedule (on a real SQLite history store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctt.ci.history import HistoryStore
from ctt.ci.schedule import Action, due, upcoming
from ctt.ci.schedule_runs import compare_with_last_good, log_decisions, record_run, resolve_deferred
from ctt.config.schedules import load_schedules
from ctt.errors import ConfigError, UsageError
from ctt.report.metrics import NewFailures, TestMetrics, Totals
from ctt.report.model import Status as CaseStatus
from ctt.report.results import ConsolidatedRun, SuiteSummary
from tests.unit.ci.test_history import make_run

CONFIG = """\
schedules:
  nightly:
    cron: "0 2 * * *"
  berlin:
    cron: "30 6 * * 1-5"
    timezone: Europe/Berlin
    mode: manual
    suites: [unit, flink]
maintenance_windows:
  - name: sunday
    cron: "0 1 * * 0"
    duration: 4h
    action: defer
    reason: Kafka patching
  - name: freeze
    start: 2026-12-24T00:00:00Z
    end: 2026-12-27T00:00:00Z
    schedules: [berlin]
    reason: holidays
tolerance: 30m
"""


def _cfg(tmp_path: Path, text: str = CONFIG, known: set[str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "schedules.yaml"
    path.write_text(text)
    return load_schedules(path, known_suites=known)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_fires_and_tolerance(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    report = due(cfg, at("2026-12-02T02:10:00Z"))  # a Wednesday
    assert {d.schedule: d.action for d in report.decisions} == {
        "nightly": Action.RUN,
        "berlin": Action.NOT_DUE,
    }
    assert report.decisions[0].fired_at == at("2026-12-02T02:00:00Z")
    assert report.selection() == ("full", [])
    late = due(cfg, at("2026-12-02T02:31:00Z"))
    assert late.running == []
    # 06:30 in Berlin is 05:30 UTC in winter
    berlin = due(cfg, at("2026-12-02T05:35:00Z"))
    assert [d.schedule for d in berlin.running] == ["berlin"]
    assert berlin.selection() == ("manual", ["flink", "unit"])


def test_a_named_schedule_is_due_whenever_its_pipeline_runs(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    report = due(cfg, at("2026-12-02T13:00:00Z"), only="nightly")
    assert [d.action for d in report.decisions] == [Action.RUN]
    with pytest.raises(UsageError, match="no schedule 'nightli'"):
        due(cfg, at("2026-12-02T13:00:00Z"), only="nightli")


def test_windows_skip_or_defer_with_their_reason(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    sunday = due(cfg, at("2026-12-06T02:05:00Z"))
    (nightly,) = [d for d in sunday.decisions if d.schedule == "nightly"]
    assert nightly.action is Action.DEFER
    assert nightly.deferred_until == at("2026-12-06T05:00:00Z")
    assert "Kafka patching" in (nightly.reason or "")
    # the freeze names only `berlin`
    xmas = due(cfg, at("2026-12-24T05:40:00Z"))
    assert {d.schedule: d.action for d in xmas.decisions} == {
        "nightly": Action.NOT_DUE,
        "berlin": Action.SKIP,
    }
    assert due(cfg, at("2026-12-24T02:00:00Z")).running[0].schedule == "nightly"
    fires = upcoming(cfg, at("2026-12-05T12:00:00Z"), 2)
    assert [(f.schedule, f.at.isoformat(), f.action) for f in fires][:2] == [
        ("nightly", "2026-12-06T02:00:00+00:00", Action.DEFER),
        ("nightly", "2026-12-07T02:00:00+00:00", Action.RUN),
    ]


def test_a_deferred_run_runs_once_after_its_window(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    with HistoryStore.open(tmp_path / "h.sqlite") as store:
        log_decisions(store, resolve_deferred(store, cfg, due(cfg, at("2026-12-06T02:05:00Z"))))
        still = resolve_deferred(store, cfg, due(cfg, at("2026-12-06T04:00:00Z")))
        assert still.running == []
        after = resolve_deferred(store, cfg, due(cfg, at("2026-12-06T05:10:00Z")))
        (run,) = after.running
        assert run.schedule == "nightly"
        assert run.fired_at == at("2026-12-06T02:00:00Z")
        assert "deferred run" in (run.reason or "")
        again = resolve_deferred(store, cfg, due(cfg, at("2026-12-06T05:20:00Z")))
        assert again.running == []


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('schedules:\n  a:\n    cron: "61 * * * *"\n', "not a cron expression", 3),
        ('schedules:\n  a:\n    cron: "0 2 * *"\n', "five fields", 3),
        (
            'schedules:\n  a:\n    cron: "0 2 * * *"\n    timezone: Mars/Olympus\n',
            "unknown time zone",
            4,
        ),
        ('schedules:\n  a:\n    cron: "0 2 * * *"\n    mode: manual\n', "needs 'suites'", 2),
        ('schedules:\n  a:\n    cron: "0 2 * * *"\n    crn: x\n', "crn", 4),
        (
            'schedules:\n  a: {cron: "0 2 * * *"}\nmaintenance_windows:\n  - {name: w, reason: r, cron: "0 1 * * 0"}\n',
            "recurring window needs",
            4,
        ),
        (
            'schedules:\n  nightly: {cron: "0 2 * * *"}\nmaintenance_windows:\n'
            "  - {name: w, reason: r, start: 2026-01-01T00:00:00Z, end: 2026-01-02T00:00:00Z, schedules: [nighty]}\n",
            "did you mean 'nightly'",
            None,
        ),
        (
            "schedules:\n  a: {cron: '0 2 * * *'}\nmaintenance_windows:\n"
            "  - {name: w, reason: r, start: 2026-01-02T00:00:00, end: 2026-01-03T00:00:00Z}\n",
            "UTC offset",
            4,
        ),
    ],
)
def test_config_errors_point_at_the_line(
    tmp_path: Path, text: str, message: str, line: int | None
) -> None:
    with pytest.raises(ConfigError, match=message) as exc:
        _cfg(tmp_path, text)
    assert exc.value.file and exc.value.file.endswith("schedules.yaml")
    if line is not None:
        assert exc.value.line == line


def test_suite_names_are_checked_against_the_catalogue(tmp_path: Path) -> None:
    text = 'schedules:\n  a:\n    cron: "0 2 * * *"\n    mode: manual\n    suites: [unit, flnk]\n'
    with pytest.raises(ConfigError, match="'flnk'") as exc:
        _cfg(tmp_path, text, known={"unit", "flink"})
    assert (exc.value.line, exc.value.hint) == (5, "did you mean 'flink'?")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789*/,-LW#? abcdefghijklmnopqrstuvwxyzJANFEBMON", max_size=30))
def test_any_cron_text_is_accepted_or_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, cron: str
) -> None:
    path = tmp_path_factory.mktemp("c") / "schedules.yaml"
    path.write_text(
        f"schedules:\n  a:\n    cron: {cron!r}\n".replace("'", '"') if '"' not in cron else ""
    )
    try:
        cfg = load_schedules(path)
    except ConfigError:
        return
    report = due(cfg, at("2026-12-02T02:10:00Z"))
    assert len(report.decisions) == 1


# --- regression against the last good run of the schedule -----------------------------------


def _metrics(run: ConsolidatedRun, duration: float) -> TestMetrics:
    return TestMetrics(
        generated_at=run.meta.created_at,
        run=run.meta,
        totals=Totals(tests=3, passed=3, pass_rate=1.0),
        suites=[SuiteSummary(name="s1", status="passed", duration=duration, tests=3)],
        new_failures=NewFailures(target_branch="main"),
    )


def test_regression_compares_with_the_last_good_run_of_the_same_schedule(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.sqlite") as store:
        first = make_run(1, duration=10.0)
        store.record(first)
        result = compare_with_last_good(store, "nightly", _metrics(first, 10.0))
        assert result.good_run is None and not result.regressed
        record_run(store, "nightly", "run-1", first.meta.created_at)

        other = make_run(2, duration=10.0)  # a good run of another schedule: not a baseline
        store.record(other)
        record_run(store, "hourly", "run-2", other.meta.created_at)

        broken = make_run(3, statuses={"b": CaseStatus.FAILED}, duration=16.0)
        store.record(broken)
        result = compare_with_last_good(store, "nightly", _metrics(broken, 16.0))
        record_run(store, "nightly", "run-3", broken.meta.created_at)
        assert result.good_run == "run-1"
        assert len(result.new_failures) == 1 and result.new_failures[0].endswith("b")
        assert [(s.suite, s.good_duration) for s in result.slower_suites] == [("s1", 10.0)]
        assert result.regressed

        # still broken on the next night: still compared with run-1, not with run-3
        again = make_run(4, statuses={"b": CaseStatus.FAILED}, duration=10.0)
        store.record(again)
        assert compare_with_last_good(store, "nightly", _metrics(again, 10.0)).good_run == "run-1"
        record_run(store, "nightly", "run-4", again.meta.created_at)

        fixed_but_slow = make_run(5, duration=13.0)
        store.record(fixed_but_slow)
        result = compare_with_last_good(store, "nightly", _metrics(fixed_but_slow, 13.0))
        assert (result.good_run, result.new_failures) == ("run-1", [])
        (slow,) = result.slower_suites
        assert (slow.suite, round(slow.change, 2)) == ("s1", 0.3)
        assert (
            compare_with_last_good(
                store, "nightly", _metrics(fixed_but_slow, 13.0), max_slowdown=0.5
            ).slower_suites
            == []
        )


def test_due_times_without_an_offset_are_refused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    with pytest.raises(UsageError, match="UTC offset"):
        due(cfg, datetime(2026, 12, 2, 2, 0))
    assert due(cfg, datetime(2026, 12, 2, 3, 0, tzinfo=UTC) - timedelta(minutes=55)).running

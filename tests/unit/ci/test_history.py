"""The history store on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ctt.ci.history import HistoryStore, database_url
from ctt.errors import InfraError
from ctt.report.junit import Attempt, TestCaseResult, TestSuiteResult
from ctt.report.model import Status as CaseStatus
from ctt.report.results import ConsolidatedRun, RunMeta, SuiteSummary
from ctt.stack.ports import pick_free

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def make_run(
    n: int,
    *,
    branch: str = "main",
    statuses: dict[str, CaseStatus] | None = None,
    flaky: set[str] | None = None,
    duration: float = 10.0,
    metrics: dict[str, float] | None = None,
) -> ConsolidatedRun:
    statuses = statuses or {}
    flaky = flaky or set()
    cases = []
    for name in ("a", "b", "c"):
        status = statuses.get(name, CaseStatus.PASSED)
        if name in flaky:
            cases.append(
                TestCaseResult.from_attempts(
                    name,
                    [Attempt(status=CaseStatus.FAILED, message="x"), Attempt(status=status)],
                    classname="k",
                )
            )
        else:
            cases.append(TestCaseResult(name=name, classname="k", status=status, message=None))
    suite_status = "failed" if any(c.status is CaseStatus.FAILED for c in cases) else "passed"
    return ConsolidatedRun(
        meta=RunMeta(
            run_key=f"run-{n}",
            created_at=T0 + timedelta(hours=n),
            commit=f"{n:040x}",
            branch=branch,
            target_branch="main",
        ),
        suites=[
            SuiteSummary(
                name="s1",
                kind="command",
                status=suite_status,
                duration=duration,
                tests=3,
                metrics=metrics or {},
            )
        ],
        results=[TestSuiteResult(name="s1", cases=cases)],
        suite_of=["s1"],
        wall_seconds=duration,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    if request.param == "sqlite":
        target = str(tmp_path / "h" / "history.sqlite")
    else:
        target = request.getfixturevalue("postgres_db")  # a fresh database per test
    with HistoryStore.open(target) as s:
        yield s


def test_database_url_forms(tmp_path: Path) -> None:
    assert database_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert database_url(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"


def test_record_and_trend(store: HistoryStore) -> None:
    store.record(make_run(1))
    store.record(make_run(2, statuses={"a": CaseStatus.FAILED}))
    store.record(make_run(3, flaky={"b"}))
    store.record(make_run(4, branch="feature"))
    trend = store.trend(10)
    assert [p.run_key for p in trend] == ["run-1", "run-2", "run-3", "run-4"]
    assert trend[1].pass_rate == pytest.approx(2 / 3)
    assert trend[2].flaky_share == pytest.approx(1 / 3)
    assert [p.run_key for p in store.trend(2)] == ["run-3", "run-4"]
    assert [p.run_key for p in store.trend(10, branch="feature")] == ["run-4"]


def test_recording_the_same_run_twice_replaces_it(store: HistoryStore) -> None:
    store.record(make_run(1))
    store.record(make_run(1, statuses={"a": CaseStatus.FAILED}))
    [point] = store.trend(10)
    assert point.failed == 1 and point.tests == 3


def test_flakiness_counts_pass_on_retry_and_flips(store: HistoryStore) -> None:
    store.record(make_run(1))
    store.record(make_run(2, statuses={"a": CaseStatus.FAILED}))
    store.record(make_run(3))
    store.record(make_run(4, flaky={"b"}))
    stats = {s.key: s for s in store.test_stats(10)}
    assert set(stats) == {"k::a", "k::b"}  # c never failed or flaked
    assert stats["k::a"].flips == 2 and stats["k::a"].failed == 1
    assert stats["k::a"].pass_rate == pytest.approx(0.75)
    assert stats["k::b"].flaky_runs == 1 and stats["k::b"].flips == 0
    assert stats["k::a"].flakiness == pytest.approx(0.5)


def test_new_failures_against_the_target_branch(store: HistoryStore) -> None:
    new, baseline = store.new_failures(["k::a"], "main")
    assert new == ["k::a"] and baseline is None  # no baseline: everything is new
    store.record(make_run(1, statuses={"a": CaseStatus.FAILED}))
    current = make_run(
        2, branch="feature", statuses={"a": CaseStatus.FAILED, "b": CaseStatus.ERROR}
    )
    store.record(current)
    new, baseline = store.new_failures(["k::a", "k::b"], "main", exclude="run-2")
    assert new == ["k::b"] and baseline is not None and baseline.run_key == "run-1"


def test_duration_regressions_against_the_median_of_passing_runs(store: HistoryStore) -> None:
    for n, d in enumerate([10.0, 12.0, 11.0, 50.0], start=1):
        status = {"a": CaseStatus.FAILED} if d == 50.0 else {}
        store.record(make_run(n, duration=d, statuses=status))
    base = store.duration_baselines(["s1"], limit=10)
    assert base["s1"] == (11.0, 3)  # the failed 50s run does not count
    [reg] = store.regressions({"s1": 13.2}, limit=10)
    assert reg.change == pytest.approx(0.2)
    assert store.regressions({"s1": 13.2}, limit=10, min_runs=4) == []


def test_attempts_and_metrics_are_kept(store: HistoryStore) -> None:
    import sqlalchemy as sa

    from ctt.ci.history import attempts_t, metrics_t

    store.record(make_run(1, flaky={"c"}, metrics={"streaming_data_accuracy": 0.9991}))
    with store.engine.connect() as conn:
        attempts = conn.execute(sa.select(attempts_t.c.test_key, attempts_t.c.status)).all()
        metrics = conn.execute(sa.select(metrics_t.c.name, metrics_t.c.value)).all()
    assert sorted(attempts) == [("k::c", "failed"), ("k::c", "passed")]
    assert metrics == [("streaming_data_accuracy", pytest.approx(0.9991))]


def test_unreachable_server_is_an_infra_error() -> None:
    (port,) = pick_free(1)
    with pytest.raises(InfraError, match="not usable"):
        HistoryStore.open(f"postgresql://nobody:secret@127.0.0.1:{port}/x?connect_timeout=2")


def test_password_is_not_shown_in_errors() -> None:
    (port,) = pick_free(1)
    with pytest.raises(InfraError) as info:
        HistoryStore.open(f"postgresql://nobody:s3cr3t@127.0.0.1:{port}/x?connect_timeout=2")
    assert "s3cr3t" not in str(info.value)


def _perf_run(n: int, latency: float, *, status: CaseStatus = CaseStatus.PASSED) -> ConsolidatedRun:
    run = make_run(n)
    case = run.results[0].cases[0]
    case.status = status
    case.properties = {
        "engine": "local",
        "metric.latency_p95_ms": str(latency),
        "throughput_records_per_s": "1500.0",
        "metric.vertex0.records_in_per_s": "12.5",
        "metric.records_in": "not a number",
    }
    return run


def test_case_metrics_are_kept_per_test_and_engine_passing_runs_only(
    store: HistoryStore,
) -> None:
    for n, latency in enumerate([100.0, 110.0, 120.0]):
        store.record(_perf_run(n, latency))
    store.record(_perf_run(3, 999.0, status=CaseStatus.FAILED))
    series = store.metric_series(["k::a", "k::b"], limit=10)
    assert [p.value for p in series[("k::a", "local", "latency_p95_ms")]] == [100.0, 110.0, 120.0]
    assert series[("k::a", "local", "throughput_records_per_s")][0].value == 1500.0
    assert series[("k::a", "local", "vertex0.records_in_per_s")][0].value == 12.5
    assert ("k::a", "local", "records_in") not in series  # not a number: not kept
    assert not any(k[0] == "k::b" for k in series)  # no properties: nothing kept
    newest = store.metric_series(["k::a"], limit=2, exclude="run-2")
    assert [p.run_key for p in newest[("k::a", "local", "latency_p95_ms")]] == ["run-0", "run-1"]


def test_an_older_database_gets_the_new_tables_and_keeps_its_runs(tmp_path: Path) -> None:
    """A history file of schema 1 (no ctt_case_metrics, no ctt_schema), as ctt wrote it before."""
    import sqlalchemy as sa

    from ctt.ci import history as h

    path = tmp_path / "old.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    old_tables = [h.runs_t, h.suites_t, h.cases_t, h.attempts_t, h.metrics_t]
    h._meta.create_all(engine, tables=old_tables)
    with engine.begin() as conn:
        conn.execute(
            h.runs_t.insert(),
            {
                "run_key": "old-1",
                "created_at": T0,
                "branch": "main",
                "serial_seconds": 1.0,
                "tests": 1,
                "passed": 1,
                "failed": 0,
                "errors": 0,
                "skipped": 0,
                "flaky": 0,
            },
        )
    engine.dispose()
    assert (
        "ctt_case_metrics"
        not in sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names()
    )
    with HistoryStore.open(path) as store:
        assert store.schema_version() == h.SCHEMA_VERSION == 2
        assert [p.run_key for p in store.trend()] == ["old-1"]
        store.record(_perf_run(5, 42.0))
        assert store.metric_series(["k::a"])[("k::a", "local", "latency_p95_ms")][0].value == 42.0
    with HistoryStore.open(path) as again:  # opening again changes nothing
        assert again.schema_version() == 2 and len(again.trend()) == 2

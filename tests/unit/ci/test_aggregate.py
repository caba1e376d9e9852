"""Aggregation of real JUnit and results files, with bad input and history."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctt.ci.aggregate import collect, compute_metrics
from ctt.report.junit import TestCaseResult, TestSuiteResult, write_junit
from ctt.report.model import Status
from ctt.report.results import RunMeta


def _meta(key: str = "r1", branch: str = "feature") -> RunMeta:
    from datetime import UTC, datetime

    return RunMeta(run_key=key, created_at=datetime.now(UTC), branch=branch, target_branch="main")


def _results(tmp_path: Path) -> Path:
    d = tmp_path / "test-results"
    write_junit(
        [
            TestSuiteResult(
                name="flink",
                cases=[
                    TestCaseResult(
                        name="orders",
                        classname="specs",
                        properties={"streaming_data_accuracy": "99.95"},
                    ),
                    TestCaseResult(
                        name="windows",
                        classname="specs",
                        status=Status.FAILED,
                        message="2 windows differ",
                        details="- count=3\n+ count=4",
                    ),
                ],
            )
        ],
        d / "junit-flink.xml",
    )
    write_junit(
        [TestSuiteResult(name="unit", cases=[TestCaseResult(name=f"t{i}") for i in range(8)])],
        d / "junit-unit.xml",
    )
    (d / "junit-broken.xml").write_text(
        '<testsuites><testsuite name="b"><testcase name="x"/><testca'
    )
    (d / "junit-odd.xml").write_text(
        '<testsuites><testsuite name="o"><testcase name="d"/><testcase name="d"/><blob/>'
        "</testsuite></testsuites>"
    )
    (d / "results-garbage.json").write_text("{not json")
    return d


def test_collect_reports_bad_input_and_counts_missing_as_error(tmp_path: Path) -> None:
    d = _results(tmp_path)
    run = collect([d], planned=["flink", "unit", "never_ran"], meta=_meta())
    by = {s.name: s for s in run.suites}
    assert by["never_ran"].status == "missing" and by["never_ran"].errors == 1
    assert by["broken"].status == "error"  # truncated: the case read is kept plus an error
    assert by["broken"].tests == 2
    assert by["odd"].tests == 2 and by["odd"].status == "passed"
    text = "\n".join(run.problems)
    assert "never_ran" in text and "truncated" in text and "duplicate test" in text
    assert "unknown element <blob>" in text and "results-garbage.json" in text


def test_metrics_totals_accuracy_and_failures(tmp_path: Path) -> None:
    run = collect([_results(tmp_path)], planned=["never_ran"], meta=_meta())
    m = compute_metrics(run, None, planned=["never_ran"])
    t = m.totals
    assert (t.tests, t.failed) == (15, 1)
    assert t.errors == 2  # truncated file + missing suite
    assert t.pass_rate == pytest.approx(12 / 15)
    assert m.missing_suites == ["never_ran"]
    assert [a.value for a in m.streaming_data_accuracy] == [pytest.approx(0.9995)]
    windows = next(f for f in m.failures if f.test == "specs::windows")
    assert windows.details == "- count=3\n+ count=4"
    assert m.new_failures.baseline_run is None and "specs::windows" in m.new_failures.tests


def test_aggregate_judges_passing_cases_metrics_against_the_runs_before(tmp_path: Path) -> None:
    """Failing cases' metrics are stored but never judged nor used as a baseline."""
    from ctt.ci.history import HistoryStore
    from ctt.config.gates import PerformanceRegressionGate
    from ctt.report.performance import PerfVerdict

    settings = PerformanceRegressionGate(baseline_runs=4, min_samples=2, consecutive=1)
    d = tmp_path / "in"

    def run(key: str, p95: float, status: Status = Status.PASSED) -> list[str]:
        props = {"engine": "local", "metric.latency_p95_ms": str(p95), "metric.records_in": "9"}
        write_junit(
            [TestSuiteResult(name="flink", cases=[
                TestCaseResult(name="t", classname="specs", status=status, properties=props),
                TestCaseResult(name="plain", classname="specs"),
            ])],
            d / "junit-flink.xml",
        )  # fmt: skip
        r = collect([d], meta=_meta(key, "main"))
        store.record(r)
        m = compute_metrics(r, store, perf=settings)
        assert m.performance_checks is not None
        return [f"{c.test}:{c.metric}:{c.verdict.value}" for c in m.performance_checks.checks]

    with HistoryStore.open(tmp_path / "h.sqlite") as store:
        assert run("r1", 100.0) == ["specs::t:latency_p95_ms:no_baseline"]
        assert run("r2", 900.0, Status.FAILED) == []  # a failed case: nothing judged
        assert run("r3", 104.0) == ["specs::t:latency_p95_ms:no_baseline"]  # r2 is no baseline
        assert run("r4", 102.0) == ["specs::t:latency_p95_ms:ok"]
        assert run("r5", 400.0) == [f"specs::t:latency_p95_ms:{PerfVerdict.REGRESSED.value}"]
        series = store.metric_series(["specs::t"])
    assert [p.value for p in series[("specs::t", "local", "latency_p95_ms")]] == [
        100.0, 104.0, 102.0, 400.0,
    ]  # fmt: skip

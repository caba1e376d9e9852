"""Aggregation of real JUnit and results files, with bad input and history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctt.ci import commands
from ctt.ci.aggregate import collect, compute_metrics
from ctt.ci.history import HistoryStore
from ctt.console import Output
from ctt.report.junit import CaseStatus, TestCaseResult, TestSuiteResult, read_junit, write_junit
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
                        status=CaseStatus.FAILED,
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


def test_aggregate_command_writes_all_outputs_and_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("CI_PIPELINE_ID", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CI_DEFAULT_BRANCH"):
        monkeypatch.delenv(var, raising=False)
    d = _results(tmp_path)
    history = str(tmp_path / "h.sqlite")
    m = commands.aggregate(Output(quiet=True), [d], history=history, branch="main")
    assert Path("consolidated-test-report.html").stat().st_size > 1000
    saved = json.loads(Path("test-metrics.json").read_text())
    assert saved["schema_version"] == 1 and saved["totals"]["tests"] == m.totals.tests
    merged = read_junit("consolidated-junit.xml")
    assert merged.complete and sum(s.tests for s in merged.suites) == m.totals.tests
    # second run on a feature branch: only failures new against main count
    (d / "junit-unit.xml").unlink()
    write_junit(
        [TestSuiteResult(name="unit", cases=[TestCaseResult(name="t0", status=CaseStatus.FAILED)])],
        d / "junit-unit.xml",
    )
    m2 = commands.aggregate(
        Output(quiet=True), [d], history=history, branch="feature", target_branch="main"
    )
    assert m2.new_failures.baseline_run is not None
    assert m2.new_failures.tests == ["t0"]
    assert len(m2.trend) == 2
    with HistoryStore.open(history) as store:
        assert len(store.trend(10)) == 2


def test_aggregate_of_nothing_is_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    m = commands.aggregate(
        Output(quiet=True), [tmp_path / "absent"], history=str(tmp_path / "h.db")
    )
    assert m.totals.tests == 0 and any("no such file" in p for p in m.problems)

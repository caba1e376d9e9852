"""``ctt aggregate``: every output written, history recorded, and nothing to aggregate is no crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctt.ci.history import HistoryStore
from ctt.commands import aggregate as commands
from ctt.console import Output
from ctt.report.junit import TestCaseResult, TestSuiteResult, read_junit, write_junit
from ctt.report.model import Status
from tests.unit.ci.test_aggregate import _results


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
        [TestSuiteResult(name="unit", cases=[TestCaseResult(name="t0", status=Status.FAILED)])],
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

"""A test's dead-letter rows travel from the run's JUnit to the HTML report, escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ctt.ci.aggregate import collect, compute_metrics
from ctt.flinktest.reporting import write_reports
from ctt.flinktest.results import RunReport, TestResult
from ctt.report.html import render_html
from ctt.report.metrics import DEAD_LETTERS_KEY, dead_letters_property, parse_dead_letters
from ctt.report.model import Status

ROWS = [
    {"payload": '{"id": 1, "x": "<script>"}', "reason": "unknown_enum: x"},
    {"payload": '{"id":', "reason": "not_json"},
]


def test_dead_letters_reach_the_html_report(tmp_path: Path) -> None:
    report = RunReport(run_id="r", engine="local", started_at=datetime(2026, 1, 1, tzinfo=UTC))
    report.tests = [
        TestResult(
            name="kinds", file="specs/errors/x.yaml", status=Status.PASSED, dead_letters=ROWS
        ),
        TestResult(name="plain", file="specs/errors/x.yaml", status=Status.PASSED),
    ]
    junit = tmp_path / "junit.xml"
    write_reports(report, junit=junit, results=None)
    metrics = compute_metrics(collect([junit]), None)
    (entry,) = metrics.dead_letters
    assert entry.test.endswith("kinds") and entry.rows == ROWS and not entry.cut
    html = render_html(metrics)
    assert 'id="dead-letters"' in html and "unknown_enum: x" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_big_dead_letter_tables_are_cut_to_fit() -> None:
    rows = [{"payload": "x" * 1000, "reason": "oversized"}] * 50
    text = dead_letters_property(rows)
    entry = parse_dead_letters("s", "t", text)
    assert entry is not None and entry.cut and 0 < len(entry.rows) < 50
    assert len(text) <= 16_384
    assert parse_dead_letters("s", "t", "not json") is None
    assert json.loads(dead_letters_property([]))["rows"] == []
    assert DEAD_LETTERS_KEY == "ctt.dead_letters"


def test_restarts_and_time_to_recover_reach_the_html_report(tmp_path: Path) -> None:
    from ctt.observed.model import Outcome, Restart

    report = RunReport(run_id="r", engine="local", started_at=datetime(2026, 1, 1, tzinfo=UTC))
    survives = Outcome(
        name="job_survives",
        passed=True,
        summary="ok",
        properties={"restart_1_recovery_s": "3.25", "restart_2_recovery_s": "unknown"},
    )
    scenario = Outcome(
        name="recovery",
        passed=True,
        summary="ok",
        properties={"recovery_scenario": "kill_taskmanager", "recovery_seconds": "7.50"},
    )
    report.tests = [
        TestResult(
            name="survivor",
            file="specs/errors/x.yaml",
            status=Status.PASSED,
            outcomes=[survives],
            metrics={"restarts": 2},
            restarts=[Restart(failed_at=1.0, seconds=3.25), Restart(failed_at=2.0)],
        ),
        TestResult(
            name="kill", file="specs/errors/x.yaml", status=Status.PASSED, outcomes=[scenario]
        ),
        TestResult(name="plain", file="specs/errors/x.yaml", status=Status.PASSED),
    ]
    junit = tmp_path / "junit.xml"
    write_reports(report, junit=junit, results=None)
    survivor, kill = compute_metrics(collect([junit]), None).restarts
    assert (survivor.restarts, survivor.recovery_s) == (2, [3.25, None])
    assert (kill.scenario, kill.recovery_s) == ("kill_taskmanager", [7.5])
    html = render_html(compute_metrics(collect([junit]), None))
    assert 'id="restarts"' in html and "3.2 s, not measured" in html and "7.5 s" in html

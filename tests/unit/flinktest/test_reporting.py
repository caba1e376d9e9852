"""Reporters: a test's error shows the user's lines and caret in the terminal and in JUnit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ctt.console import Output
from ctt.flinktest.reporting import TerminalReporter, to_junit
from ctt.flinktest.results import RunReport, TestResult
from ctt.report.model import ErrorKind, Status

SNIPPET = "5 |   SELECT amout FROM src;\n  |          ^"


def rejected() -> RunReport:
    report = RunReport(run_id="r", engine="local", started_at=datetime.now(UTC))
    report.tests = [
        TestResult(
            name="t",
            file="specs/t.yaml",
            status=Status.ERROR,
            error_kind=ErrorKind.CONFIG,
            message="specs/t.yaml:5:10: Flink rejected the SQL: Column 'amout' not found",
            snippet=SNIPPET,
        )
    ]
    report.finish(1.0)
    return report


def test_the_terminal_prints_the_snippet_below_the_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with TerminalReporter(Output()) as reporter:
        reporter.finished(rejected().tests[0])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].strip().startswith("specs/t.yaml:5:10: Flink rejected the SQL")
    assert [ln.strip() for ln in lines[2:4]] == [ln.strip() for ln in SNIPPET.splitlines()]
    assert lines[3].index("^") - lines[2].index("|") == SNIPPET.splitlines()[1].index("^") - 2


def test_junit_carries_the_snippet_in_the_errors_details() -> None:
    ((case,),) = [suite.cases for suite in to_junit(rejected())]
    assert case.message is not None and case.message.endswith("Column 'amout' not found")
    assert case.details == f"{case.message}\n{SNIPPET}"


def test_job_metrics_keep_checkpoint_p95_and_watermark_lag() -> None:
    from ctt.flinktest.job_metrics import result_metrics
    from ctt.observed.model import CheckpointStats, InputRecord, StatementMetrics

    m = StatementMetrics(
        records_in=3,
        watermark_ms=9_000,
        checkpoints=CheckpointStats(completed=20, durations_ms=list(range(100, 2100, 100))),
    )
    inputs = [InputRecord(table="s", row={}, event_time_ms=t) for t in (1_000, 12_500, 4_000)]
    out = result_metrics(m, inputs)
    assert out["checkpoint_duration_p95_ms"] == 1900 and out["checkpoint_duration_max_ms"] == 2000
    assert out["watermark_lag_ms"] == 3_500
    assert "watermark_lag_ms" not in result_metrics(
        m.model_copy(update={"watermark_ms": None}), inputs
    )
    ahead = m.model_copy(update={"watermark_ms": 20_000})
    assert result_metrics(ahead, inputs)["watermark_lag_ms"] == 0
    # the most seen while a paced input was sent wins over the end's 0
    assert result_metrics(ahead, inputs, running_lag_ms=7_000)["watermark_lag_ms"] == 7_000

"""Window, aggregation, late-data and join validators: verdicts and readable failure tables."""

from __future__ import annotations

from typing import Any

from ctt.observed.model import (
    Column,
    InputRecord,
    Outcome,
    OutputRow,
    StatementMetrics,
    TableOutput,
    ValidationContext,
)
from ctt.validate import registry

COLS = [
    Column(name="user_id", type="BIGINT"),
    Column(name="window_start", type="TIMESTAMP(3)"),
    Column(name="n", type="BIGINT"),
    Column(name="avg_amount", type="DOUBLE"),
]
EXPECTED = [
    {"user_id": 1, "window_start": "2026-01-01 10:00:00", "n": 3, "avg_amount": 2.5},
    {"user_id": 2, "window_start": "2026-01-01 10:00:00", "n": 1, "avg_amount": 1.0},
]


def ctx(actual: list[dict[str, Any]], **extra: Any) -> ValidationContext:
    out = TableOutput(
        table="summary",
        columns=COLS,
        records=[OutputRow(row=r) for r in actual],
        expected_rows=EXPECTED,
        key=["user_id", "window_start"],
    )
    late = [InputRecord(table="ev", row={}, late=True)] * 2
    return ValidationContext(
        test="t",
        outputs={"summary": out},
        inputs=late,
        metrics=StatementMetrics(late_records_dropped=extra.pop("dropped", 1)),
        extra=extra,
    )


def run(name: str, raw: Any, c: ValidationContext) -> Outcome:
    v = registry.get(name)
    return v.check(v.parse(raw), c)


def test_window_count_table_shows_missing_and_extra_windows() -> None:
    actual = [
        EXPECTED[0],
        {"user_id": 2, "window_start": "2026-01-01 11:00:00", "n": 1, "avg_amount": 1.0},
    ]
    o = run("window_count_accuracy", True, ctx(actual))
    assert not o.passed and o.measured == 1 / 3
    assert o.details is not None
    header, _rule, *rows = o.details.splitlines()[1:]
    assert header.split() == ["key", "window", "expected", "actual"]
    assert any("user_id=2" in r and "10:00:00" in r and "(no window)" in r for r in rows)
    assert any("11:00:00" in r and r.rstrip().endswith("avg_amount=1") for r in rows)


def test_aggregation_tolerance_and_table() -> None:
    close = [EXPECTED[0] | {"avg_amount": 2.504}, EXPECTED[1]]
    assert run("aggregation_correctness", 0.01, ctx(close)).passed
    o = run("aggregation_correctness", True, ctx(close))
    assert not o.passed and o.details is not None
    assert "avg_amount" in o.details and "2.5" in o.details and "2.504" in o.details
    assert o.details.splitlines()[0].split() == ["key", "window", "aggregate", "expected", "actual"]


def test_late_data_reports_sent_expected_dropped_and_agreement() -> None:
    o = run("late_data_handling", True, ctx(EXPECTED, expected_late_dropped=1))
    assert o.passed
    assert o.summary.startswith("2 late events sent, 1 expected dropped, Flink dropped 1")
    wrong = run("late_data_handling", True, ctx(EXPECTED, expected_late_dropped=1, dropped=2))
    assert not wrong.passed and "Flink dropped 2 late records, expected 1" in (wrong.details or "")
    lenient = run(
        "late_data_handling",
        True,
        ctx(EXPECTED, expected_late_dropped=1, allowed_lateness_ms=60000),
    )
    assert "allowed lateness 60s" in lenient.summary


def test_join_accuracy_lists_unmatched_keys() -> None:
    o = run("join_accuracy", "100%", ctx([EXPECTED[0]]))
    assert not o.passed and o.measured == 0.5
    assert o.details is not None and "user_id=2" in o.details and "missing rows" in o.details

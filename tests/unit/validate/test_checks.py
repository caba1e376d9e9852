"""Validators on synthetic contexts: each one can pass and can fail."""

from __future__ import annotations

from ctt.observed.model import Column, InputRecord, OutputRow, TableOutput, ValidationContext
from ctt.validate import registry

COLS = [Column(name="id", type="BIGINT"), Column(name="cat", type="STRING")]


def ctx(actual: list[dict[str, object]], expected: list[dict[str, object]], **kw: object) -> ValidationContext:
    out = TableOutput(table="o", columns=COLS, records=[OutputRow(row=r, received_at=10.0) for r in actual],
                      expected_rows=expected)
    return ValidationContext(test="t", outputs={"o": out}, **kw)  # type: ignore[arg-type]


def run(name: str, raw: object, c: ValidationContext) -> object:
    v = registry.get(name)
    return v.check(v.parse(raw), c)


def test_registry_has_the_seed_names() -> None:
    for name in ("output_schema_match", "field_transformation_accuracy", "processing_latency_sla",
                 "window_count_accuracy", "aggregation_correctness", "late_data_handling", "join_accuracy",
                 "lookup_performance", "missing_key_handling", "streaming_data_accuracy", "rows_match",
                 "changelog_final_state", "row_count"):
        assert name in registry.names()


def test_accuracy_threshold() -> None:
    good = ctx([{"id": 1, "cat": "a"}, {"id": 2, "cat": "b"}], [{"id": 1, "cat": "a"}, {"id": 2, "cat": "b"}])
    bad = ctx([{"id": 1, "cat": "a"}, {"id": 2, "cat": "x"}], [{"id": 1, "cat": "a"}, {"id": 2, "cat": "b"}])
    assert run("field_transformation_accuracy", "100%", good).passed  # type: ignore[attr-defined]
    res = run("field_transformation_accuracy", "100%", bad)
    assert not res.passed and res.measured == 0.5  # type: ignore[attr-defined]
    assert run("field_transformation_accuracy", "50%", bad).passed  # type: ignore[attr-defined]


def test_latency_sla_uses_matching_input() -> None:
    inputs = [InputRecord(table="s", row={"id": 1, "x": 0}, produced_at=9.0),
              InputRecord(table="s", row={"id": 2, "x": 0}, produced_at=9.9)]
    c = ctx([{"id": 1, "cat": "a"}, {"id": 2, "cat": "b"}], [], inputs=inputs)
    few = {"min_samples": 2, "warmup": 0}
    res = run("processing_latency_sla", {"p95": "5s", **few}, c)
    assert res.passed and 0.1 <= res.measured <= 1.0  # type: ignore[attr-defined]
    assert not run("processing_latency_sla", {"p95": "<100ms", **few}, c).passed  # type: ignore[attr-defined]


def test_schema_match_reports_missing_columns() -> None:
    c = ctx([{"id": 1}], [{"id": 1, "missing": 2}])
    res = run("output_schema_match", True, c)
    assert not res.passed and "missing" in (res.details or "")  # type: ignore[attr-defined]


def test_late_data_compares_with_flink_metric() -> None:
    c = ctx([{"id": 1, "cat": "a"}], [{"id": 1, "cat": "a"}], inputs=[InputRecord(table="s", row={}, late=True)])
    c.metrics.late_records_dropped = 1
    assert run("late_data_handling", True, c).passed  # type: ignore[attr-defined]
    c.metrics.late_records_dropped = 0
    assert not run("late_data_handling", True, c).passed  # type: ignore[attr-defined]


def test_missing_key_handling_flags_rows_for_dropped_keys() -> None:
    c = ctx([{"id": 1, "cat": "a"}, {"id": 3, "cat": None}], [{"id": 1, "cat": "a"}])
    res = run("missing_key_handling", True, c)
    assert not res.passed  # type: ignore[attr-defined]


def test_row_count() -> None:
    c = ctx([{"id": 1, "cat": "a"}], [])
    assert run("row_count", 1, c).passed and not run("row_count", 2, c).passed  # type: ignore[attr-defined]

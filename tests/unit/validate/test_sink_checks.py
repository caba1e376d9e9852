"""The sink checks on a hand-made target table: what each catches and what it lets pass."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ctt.errors import ConfigError
from ctt.observed.model import (
    Column,
    InputRecord,
    OutputRow,
    TableOutput,
    TargetTable,
    ValidationContext,
)
from ctt.validate import registry

COLS = [
    Column(name="user_id", type="BIGINT"),
    Column(name="amount", type="DECIMAL(10, 2)"),
    Column(name="event_time", type="TIMESTAMP_LTZ(3)"),
]
ROWS = [
    {"user_id": 1, "amount": 12.5, "event_time": "2024-01-01 10:00:00.000"},
    {"user_id": 2, "amount": 0.0, "event_time": "2024-01-01 10:00:01.000"},
]
PG_ROWS = [
    {"user_id": 1, "amount": Decimal("12.50"), "event_time": datetime(2024, 1, 1, 10, tzinfo=UTC)},
    {
        "user_id": 2,
        "amount": Decimal("0.00"),
        "event_time": datetime(2024, 1, 1, 10, 0, 1, tzinfo=UTC),
    },
]
PG_COLS = [
    Column(name="user_id", type="bigint"),
    Column(name="amount", type="numeric(10,2)"),
    Column(name="event_time", type="timestamp with time zone"),
]


def _ctx(
    target_rows: list[dict[str, Any]], *, pg_cols: list[Column] = PG_COLS
) -> ValidationContext:
    out = TableOutput(
        table="o",
        columns=COLS,
        records=[OutputRow(row=r, received_at=10.0) for r in ROWS],
        expected_rows=ROWS,
    )
    target = TargetTable(
        output="o",
        table="o_abc",
        columns=pg_cols,
        records=[OutputRow(row=r, received_at=10.5 + i) for i, r in enumerate(target_rows)],
    )
    inputs = [
        InputRecord(table="src", row={"user_id": r["user_id"]}, produced_at=10.0 + i)
        for i, r in enumerate(ROWS)
    ]
    return ValidationContext(test="t", outputs={"o": out}, target=target, inputs=inputs)


def _check(name: str, raw: Any, ctx: ValidationContext) -> Any:
    v = registry.get(name)
    return v.check(v.parse(raw), ctx)


@pytest.mark.parametrize("name", ["sink_rows_match", "sink_no_data_loss", "sink_type_mapping"])
def test_a_faithful_target_passes(name: str) -> None:
    outcome = _check(name, True, _ctx(PG_ROWS))
    assert outcome.passed, outcome.details


def test_a_lost_row_and_a_changed_value_fail_with_a_diff() -> None:
    changed = [{**PG_ROWS[0], "amount": Decimal("12.00")}]
    for name in ("sink_rows_match", "sink_no_data_loss"):
        outcome = _check(name, True, _ctx(changed))
        assert not outcome.passed
        assert "amount: expected 12.5, got 12.0" in (outcome.details or ""), outcome.details


def test_a_rounded_decimal_column_and_a_missing_column_fail_type_mapping() -> None:
    cols = [Column(name="user_id", type="bigint"), Column(name="amount", type="double precision")]
    outcome = _check("sink_type_mapping", True, _ctx(PG_ROWS, pg_cols=cols))
    assert not outcome.passed
    assert "amount: DECIMAL(10, 2) arrived as double precision" in (outcome.details or "")
    assert "event_time (TIMESTAMP_LTZ(3)): not in o_abc" in (outcome.details or "")


def test_end_to_end_latency_is_produce_to_visible() -> None:
    outcome = _check(
        "end_to_end_latency", {"p95": "1s", "min_samples": 2, "warmup": 0}, _ctx(PG_ROWS)
    )
    assert outcome.passed
    assert outcome.properties["e2e_samples"] == "2"
    assert outcome.properties["e2e_p50_ms"] == "500.0"  # 10.5 - 10.0 and 11.5 - 11.0


def test_end_to_end_latency_needs_enough_samples() -> None:
    with pytest.raises(ConfigError, match="at least 50"):
        _check("end_to_end_latency", "2s", _ctx(PG_ROWS))


def test_the_connector_dlq_must_hold_exactly_what_was_injected() -> None:
    ctx = _ctx(PG_ROWS)
    assert ctx.target is not None
    ctx.target.injected = ["a {", "b {"]
    ctx.target.dead_letters = ["a {"]
    outcome = _check("sink_dlq_routing", True, ctx)
    assert not outcome.passed and "1 undecodable record(s) not in the DLQ" in outcome.summary
    ctx.target.dead_letters = ["a {", "b {"]
    assert _check("sink_dlq_routing", True, ctx).passed


def test_a_test_without_a_sink_is_a_config_error() -> None:
    ctx = _ctx(PG_ROWS).model_copy(update={"target": None})
    with pytest.raises(ConfigError, match="no `sink:` section"):
        _check("sink_no_data_loss", True, ctx)

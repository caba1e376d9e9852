"""Checkpoint statistics from Flink's REST answer, and the validators that judge them."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ctt.engines.flink_checkpoints import checkpoint_stats, latest_completed_id
from ctt.flinktest.job_metrics import result_metrics
from ctt.observed.model import CheckpointStats, StatementMetrics, ValidationContext, VertexMetrics
from ctt.validate import registry
from ctt.validate.checks.checkpoint_duration_p95 import p95

REST: dict[str, Any] = {
    "counts": {"restored": 1, "total": 7, "in_progress": 0, "completed": 5, "failed": 2},
    "latest": {"completed": {"id": 6, "checkpointed_size": 4096}, "restored": {"id": 3}},
    "history": [  # newest first, as Flink lists them
        {"id": 7, "status": "FAILED", "is_savepoint": False, "end_to_end_duration": 9},
        {"id": 6, "status": "COMPLETED", "is_savepoint": False, "end_to_end_duration": 300},
        {"id": 5, "status": "COMPLETED", "is_savepoint": True, "end_to_end_duration": 5000},
        {"id": 4, "status": "COMPLETED", "is_savepoint": False, "end_to_end_duration": 200},
        {"id": 3, "status": "COMPLETED", "is_savepoint": False, "end_to_end_duration": 100},
    ],
}


def ctx(cps: CheckpointStats | None) -> ValidationContext:
    return ValidationContext(test="t", outputs={}, metrics=StatementMetrics(checkpoints=cps))


def check(name: str, raw: object, cps: CheckpointStats | None) -> Any:
    v = registry.get(name)
    return v.check(v.parse(raw), ctx(cps))


def test_rest_answer_becomes_stats_without_savepoints() -> None:
    s = checkpoint_stats(REST)
    assert (s.completed, s.failed, s.restored, s.last_restored_id) == (5, 2, 1, 3)
    assert s.durations_ms == [100, 200, 300]
    assert s.last_size_bytes == 4096
    assert latest_completed_id(REST) == 6
    assert latest_completed_id({}) is None


def test_success_rate_leaves_out_triggers_while_tasks_deployed() -> None:
    cps = CheckpointStats(completed=9, failed=31, failed_while_starting=30)
    out = check("checkpoint_success_rate", ">=90%", cps)
    assert out.passed and out.measured == 0.9
    out = check("checkpoint_success_rate", "100%", cps)
    assert not out.passed and "of 10 checkpoints" in out.summary


def test_no_checkpoint_is_a_failure_not_a_pass() -> None:
    out = check("checkpoint_success_rate", "100%", CheckpointStats())
    assert not out.passed and "checkpoint_interval" in out.summary
    assert not check("checkpoint_success_rate", "100%", None).passed


def test_duration_p95_needs_three_samples_and_judges_the_percentile() -> None:
    few = CheckpointStats(completed=2, durations_ms=[10, 20])
    assert not check("checkpoint_duration_p95", "<1s", few).passed
    many = CheckpointStats(completed=20, durations_ms=[100] * 19 + [5000])
    assert check("checkpoint_duration_p95", "<1s", many).passed  # p95 of 20 is the 19th
    many.durations_ms[-2] = 2000
    out = check("checkpoint_duration_p95", "<1s", many)
    assert not out.passed and out.measured == 2.0


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=200))
def test_p95_is_a_measured_value_at_or_above_95_percent(values: list[int]) -> None:
    got = p95(values)
    assert got in values
    assert sum(v <= got for v in values) >= 0.95 * len(values)


def test_results_keep_checkpoint_counts() -> None:
    m = StatementMetrics(
        records_in=5,
        restarts=1,
        checkpoints=CheckpointStats(
            completed=4, failed=3, failed_while_starting=2, durations_ms=[5, 9], last_size_bytes=7
        ),
    )
    out = result_metrics(m)
    assert out["checkpoints_completed"] == 4
    assert out["checkpoints_failed"] == 1
    assert out["checkpoints_failed_while_starting"] == 2
    assert out["checkpoint_duration_max_ms"] == 9
    assert out["restarts"] == 1
    assert "restarts" not in result_metrics(StatementMetrics())


def test_results_keep_backpressure_and_per_vertex_rates() -> None:
    m = StatementMetrics(
        backpressure_ratio=0.4,
        vertices=[
            VertexMetrics(name="Source", records_out_per_s=120.0, busy_ratio=0.2),
            VertexMetrics(name="Sink", records_in_per_s=119.5, backpressure_ratio=0.4),
        ],
    )
    out = result_metrics(m)
    assert out["backpressure_max"] == 0.4
    assert out["busy_max"] == 0.2
    assert out["vertex0.records_out_per_s"] == 120.0
    assert out["vertex1.backpressure_ratio"] == 0.4
    assert "vertex0.records_in_per_s" not in out

"""`performance:` thresholds: the validations they stand for, judged over enough samples."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ctt.config.state import PerformanceConfig
from ctt.observed.model import Column, OutputRow, StatementMetrics, TableOutput, ValidationContext
from ctt.validate import registry


def check(name: str, raw: object, ctx: ValidationContext) -> Any:
    v = registry.get(name)
    return v.check(v.parse(raw), ctx)


def outputs(times: list[float]) -> ValidationContext:
    out = TableOutput(
        table="o",
        columns=[Column(name="id", type="BIGINT")],
        records=[OutputRow(row={"id": i}, received_at=t) for i, t in enumerate(times)],
    )
    return ValidationContext(test="t", outputs={"o": out})


def test_thresholds_become_validations_every_one_parses() -> None:
    perf = PerformanceConfig.model_validate(
        {
            "throughput_min": 1000,
            "backpressure_max": "10%",
            "latency_p95_max": "2s",
            "checkpoint_duration_p95_max": "1s",
            "warmup": 5,
            "min_samples": 20,
        }
    )
    items = perf.validations()
    assert [next(iter(i)) for i in items] == [
        "throughput_min",
        "backpressure_max",
        "processing_latency_sla",
        "checkpoint_duration_p95",
    ]
    for item in items:
        ((name, raw),) = item.items()
        registry.get(name).parse(raw)
    assert perf.backpressure_max == pytest.approx(0.1)
    with pytest.raises(ValidationError):
        PerformanceConfig.model_validate({"throughput": 5})


def test_throughput_over_samples_after_warmup() -> None:
    times = [0.0] * 10 + [10 + i * 0.001 for i in range(100)]  # warm-up burst, then 1000/s
    out = check(
        "throughput_min", {"records_per_s": 900, "warmup": 10, "min_samples": 50}, outputs(times)
    )
    assert out.passed and 990 < out.measured < 1010
    assert not check("throughput_min", {"records_per_s": 2000, "warmup": 10}, outputs(times)).passed
    few = check("throughput_min", 10, outputs([0.0, 1.0, 2.0]))
    assert not few.passed and "need 50" in few.summary


def test_backpressure_unmeasured_is_a_failure() -> None:
    ctx = ValidationContext(test="t", outputs={}, metrics=StatementMetrics(backpressure_ratio=0.05))
    assert check("backpressure_max", "10%", ctx).passed
    assert not check("backpressure_max", 0.01, ctx).passed
    assert not check("backpressure_max", "10%", ValidationContext(test="t", outputs={})).passed

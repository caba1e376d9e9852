"""Latency SLAs: measured over enough records after a warm-up, or a clear error in the spec."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.errors import ConfigError
from ctt.observed.model import Column, InputRecord, OutputRow, TableOutput, ValidationContext
from ctt.validate.latency import LatencySla, latencies, latency_outcome, parse_sla


def timed_ctx(lat_ms: list[float]) -> ValidationContext:
    """One input per output row, produced at i seconds and read ``lat_ms[i]`` ms later."""
    inputs = [InputRecord(table="s", row={"id": i}, produced_at=float(i)) for i in range(len(lat_ms))]
    rows = [
        OutputRow(row={"id": i}, received_at=i + ms / 1000) for i, ms in reversed(list(enumerate(lat_ms)))
    ]
    out = TableOutput(table="o", columns=[Column(name="id", type="BIGINT")], records=rows)
    return ValidationContext(test="t", outputs={"o": out}, inputs=inputs)


def test_seed_form_gets_default_sample_rules() -> None:
    sla = parse_sla("<100ms")
    assert sla == LatencySla(p95=0.1, min_samples=50, warmup=10)
    assert parse_sla({"p95": "2s", "min_samples": 200, "warmup": 0}) == LatencySla(p95=2.0, min_samples=200, warmup=0)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"p95": "1s", "samples": 3}, "unknown key 'samples'"),
        ({"min_samples": 3}, "missing `p95:`"),
        ({"p95": "1s", "min_samples": 0}, "`min_samples`"),
        ("fast", "is not a duration"),
    ],
)
def test_bad_sla_is_a_value_error(raw: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_sla(raw)


def test_latencies_come_in_produce_order() -> None:
    assert [round(x, 3) for x in latencies(timed_ctx([5, 7, 9]))] == [0.005, 0.007, 0.009]


def test_warmup_is_excluded_from_the_p95() -> None:
    values = latencies(timed_ctx([900.0] * 10 + [10.0] * 60))  # a cold start, then steady
    res = latency_outcome("processing_latency_sla", values, parse_sla("<100ms"), what="processing", prop="latency")
    assert res.passed, res.summary
    assert "over 60 records (after 10 warm-up" in res.summary
    assert res.properties["latency_samples"] == "60"


def test_too_few_samples_is_a_spec_error_not_a_failure() -> None:
    values = latencies(timed_ctx([163.0, 20.0, 20.0]))
    with pytest.raises(ConfigError, match=r"needs at least 50 timed enrichment records.*yields 3"):
        latency_outcome("lookup_performance", values, parse_sla("<100ms"), what="enrichment", prop="lookup")


@given(st.lists(st.floats(min_value=0, max_value=10_000), min_size=1, max_size=120), st.integers(0, 20))
def test_verdict_or_spec_error_never_anything_else(lat_ms: list[float], warmup: int) -> None:
    sla = LatencySla(p95=0.1, min_samples=20, warmup=warmup)
    try:
        res = latency_outcome("x", sorted(lat_ms), sla, what="w", prop="p")
    except ConfigError:
        assert len(lat_ms) - warmup < 20
    else:
        assert int(res.properties["p_samples"]) == len(lat_ms) - warmup >= 20


def test_every_test_keeps_latency_percentiles_after_the_warmup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ctt.validate.latency import percentile_metrics

    ctx = timed_ctx([900.0] * 10 + [float(ms) for ms in range(1, 101)])
    got = percentile_metrics(ctx, warmup=10)
    assert got["latency_samples"] == 100
    assert got["latency_p50_ms"] == pytest.approx(50.5, abs=0.2)
    assert got["latency_p95_ms"] == pytest.approx(95.05, abs=0.2)
    assert got["latency_p99_ms"] == pytest.approx(99.01, abs=0.2)
    assert percentile_metrics(timed_ctx([5.0] * 25), warmup=10) == {}  # 15 left: no percentile
    from ctt.validate import latency

    monkeypatch.setattr(latency, "PERCENTILE_MAX_INPUTS", 50)  # more inputs: not worth matching
    assert percentile_metrics(ctx, warmup=10) == {}


def test_aggregate_outputs_take_the_last_input_before_them() -> None:
    """Outputs that share no column with the input: the cause is the last input produced before."""
    inputs = [InputRecord(table="s", row={"id": i}, produced_at=float(i)) for i in range(5)]
    rows = [OutputRow(row={"n": 1}, received_at=2.25), OutputRow(row={"n": 2}, received_at=4.5)]
    out = TableOutput(table="o", columns=[Column(name="n", type="BIGINT")], records=rows)
    ctx = ValidationContext(test="t", outputs={"o": out}, inputs=inputs)
    assert latencies(ctx) == [0.25, 0.5]

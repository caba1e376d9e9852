"""The regression detector: median baseline, noise margin, direction and the consecutive-runs rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ctt.ci.perf_regression import (
    check_run,
    history_limit,
    judge,
    margins_of,
)
from ctt.config.gates import PerformanceRegressionGate
from ctt.errors import ConfigError
from ctt.report.performance import CATALOG, HistoryPoint, PerfVerdict

LATENCY = CATALOG["latency_p95_ms"]
THROUGHPUT = CATALOG["throughput_records_per_s"]
RESTARTS = CATALOG["restarts"]


def _gate(n: int = 10, m: int = 5, k: int = 3) -> PerformanceRegressionGate:
    return PerformanceRegressionGate(baseline_runs=n, min_samples=m, consecutive=k)


def test_too_few_passing_runs_is_no_verdict() -> None:
    j = judge([100.0, 100.0, 100.0, 500.0], LATENCY, _gate(m=5))
    assert j.verdict is PerfVerdict.NO_BASELINE and j.baseline_median is None
    assert j.baseline_runs == 3


def test_one_outlier_warns_and_the_next_normal_run_clears_it() -> None:
    stable = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0]
    warned = judge([*stable, 200.0], LATENCY, _gate())
    assert warned.verdict is PerfVerdict.WARNING and warned.streak == 1
    assert warned.baseline_median == 100.0 and warned.baseline_runs == 6
    assert warned.change == pytest.approx(1.0)  # 100% worse
    assert judge([*stable, 200.0, 101.0], LATENCY, _gate()).verdict is PerfVerdict.OK


def test_direction_throughput_lower_is_worse_latency_higher_is_worse() -> None:
    stable = [1000.0] * 8
    assert judge([*stable, 2000.0], THROUGHPUT, _gate()).verdict is PerfVerdict.OK
    assert judge([*stable, 500.0], THROUGHPUT, _gate()).verdict is PerfVerdict.WARNING
    assert judge([*stable, 500.0], LATENCY, _gate()).verdict is PerfVerdict.OK
    assert judge([*stable, 2000.0], LATENCY, _gate()).verdict is PerfVerdict.WARNING


def test_absolute_floor_judges_metrics_whose_median_is_zero() -> None:
    assert judge([0.0] * 6 + [1.0], RESTARTS, _gate()).verdict is PerfVerdict.WARNING
    tiny = CATALOG["backpressure_max"]  # floor 0.1: 0.00 -> 0.05 is noise
    assert judge([0.0] * 6 + [0.05], tiny, _gate()).verdict is PerfVerdict.OK


def test_configured_margin_overrides_the_catalog() -> None:
    series = [100.0] * 6 + [125.0]  # 25% worse: beyond 20%, within the default 30%
    assert judge(series, LATENCY, _gate()).verdict is PerfVerdict.OK
    assert judge(series, LATENCY, _gate(), margin=0.2).verdict is PerfVerdict.WARNING


def test_lasting_step_becomes_the_new_baseline_once_it_fills_half_the_window() -> None:
    series = [100.0] * 10 + [200.0] * 8
    verdicts = [judge(series[: i + 1], LATENCY, _gate()).verdict for i in range(10, 18)]
    assert verdicts[:3] == [PerfVerdict.WARNING, PerfVerdict.WARNING, PerfVerdict.REGRESSED]
    assert PerfVerdict.OK in verdicts[4:]  # the median moved: the change is accepted


# --- properties ---------------------------------------------------------------------------------

_settings = st.builds(
    lambda n, m_frac, k_frac: _gate(
        n=n, m=max(2, round(n * m_frac)), k=max(1, round(((n + 1) // 2) * k_frac))
    ),
    st.integers(2, 20),
    st.floats(0.1, 1.0),
    st.floats(0.0, 1.0),
)
_metrics = st.sampled_from([m for m in CATALOG.values() if m.checked])


@settings(max_examples=300, deadline=None)
@given(
    gate=_settings,
    metric=_metrics,
    level=st.floats(1.0, 1e6),
    noise=st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=40),
)
def test_a_series_within_the_margin_never_flags(
    gate: PerformanceRegressionGate, metric: object, level: float, noise: list[float]
) -> None:
    """Values within margin/3 of a level (or of the metric's floor/3): the median lies in the same
    band, so no value is ever further from it than the margin allows."""
    assert metric in CATALOG.values()
    m = CATALOG[metric.name]  # type: ignore[attr-defined]
    spread = max(m.margin * level, m.min_delta) / 3
    series = [level + n * spread for n in noise]
    j = judge(series, m, gate)
    assert not any(j.beyond)
    assert j.verdict in (PerfVerdict.OK, PerfVerdict.NO_BASELINE)


@settings(max_examples=300, deadline=None)
@given(
    gate=_settings,
    metric=_metrics,
    level=st.floats(1.0, 1e6),
    extra=st.integers(0, 10),
    factor=st.floats(1.05, 10.0),
    noise=st.lists(st.floats(-1.0, 1.0), min_size=40, max_size=40),
)
def test_a_step_beyond_the_margin_blocks_after_exactly_k_runs(
    gate: PerformanceRegressionGate,
    metric: object,
    level: float,
    extra: int,
    factor: float,
    noise: list[float],
) -> None:
    m = CATALOG[metric.name]  # type: ignore[attr-defined]
    spread = max(m.margin * level, m.min_delta) / 3
    history = [level + n * spread for n in noise[: gate.baseline_runs + extra + 1]]
    # worse than the band's far edge by more than the margin of the band's far edge, x factor
    allowed = max(m.margin * (level + spread), m.min_delta)
    if m.direction.value == "lower_is_better":
        bad = level + spread + allowed * factor + 1e-6
    else:
        bad = level - spread - allowed * factor - 1e-6
        if bad <= 0:  # a throughput cannot go below 0: this margin admits no step
            return
    assert judge(history, m, gate).verdict is PerfVerdict.OK
    for j in range(1, gate.consecutive + 1):
        verdict = judge([*history, *[bad] * j], m, gate).verdict
        expected = PerfVerdict.REGRESSED if j == gate.consecutive else PerfVerdict.WARNING
        assert verdict is expected, (j, verdict)


# --- configuration and a whole run --------------------------------------------------------------


def test_config_refuses_settings_that_could_never_work() -> None:
    assert PerformanceRegressionGate.model_validate("block").action.value == "block"
    with pytest.raises(ValidationError, match="more than baseline_runs"):
        PerformanceRegressionGate(baseline_runs=4, min_samples=5)
    with pytest.raises(ValidationError, match="consecutive <= 5"):
        PerformanceRegressionGate(baseline_runs=10, consecutive=6)
    with pytest.raises(ConfigError, match="latency_p97_ms"):
        margins_of(PerformanceRegressionGate(margins={"latency_p97_ms": 0.2}))
    margins = margins_of(PerformanceRegressionGate(margins={"latency_p95_ms": 0.1}))
    assert margins["latency_p95_ms"] == 0.1 and margins["latency_p99_ms"] == 0.5
    assert "records_in" not in margins  # kept, never judged
    assert history_limit(_gate(n=40, k=3)) == 43


def test_check_run_names_the_test_engine_metric_and_keeps_a_trend() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    hist = {
        ("spec::t", "local", "latency_p95_ms"): [
            HistoryPoint(run_key=f"r{i}", created_at=t0 + timedelta(hours=i), value=v)
            for i, v in enumerate([100.0, 100.0, 300.0, 310.0, 100.0, 100.0, 290.0, 305.0])
        ]
    }
    cases = [
        ("s", "spec::t", "local", {"latency_p95_ms": 320.0, "records_in": 5.0}),
        ("s", "spec::t", "confluent", {"latency_p95_ms": 320.0}),
    ]
    report = check_run(cases, hist, _gate(n=8, m=4, k=3), run_key="now", run_label="now")
    assert [(c.engine, c.verdict) for c in report.checks] == [
        ("local", PerfVerdict.REGRESSED),
        ("confluent", PerfVerdict.NO_BASELINE),  # another engine is another history
    ]
    c = report.checks[0]
    assert c.streak == 3 and c.baseline_runs == 8 and c.baseline_median == 195.0
    assert [p.beyond for p in c.trend][-3:] == [True, True, True]
    assert c.trend[-1].run_key == "now" and len(c.trend) == 9
    line = c.describe()
    for part in ("spec::t", "[local]", "latency_p95_ms", "320", "median 195", "8 passing", "30%"):
        assert part in line

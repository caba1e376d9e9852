"""Performance metrics of a test case: which ones ctt keeps, where they come from, which way is worse.

A Flink test's JUnit case carries its job metrics as ``metric.<name>`` properties
(``ctt.flinktest.reporting.to_junit``) and its validators' measurements as plain properties
(``throughput_records_per_s`` of ``throughput_min``). :func:`case_performance` reads both into
one :class:`CasePerformance`; the history store keeps its values per run, test and engine, and
``ctt.ci.perf_regression`` compares the current run with them. The report models of that
comparison (:class:`MetricCheck`, :class:`PerformanceReport`) live here so that
``test-metrics.json``, the HTML report and the gate share them.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from ctt.report.junit import TestCaseResult

__all__ = [
    "CATALOG",
    "ENGINE_PROPERTY",
    "CasePerformance",
    "Direction",
    "HistoryPoint",
    "MetricCheck",
    "MetricDef",
    "PerfVerdict",
    "PerformanceReport",
    "TrendSample",
    "case_performance",
]

ENGINE_PROPERTY = "engine"
"""JUnit testcase property: the engine the test ran on (``local``, ``confluent``)."""
UNKNOWN_ENGINE = "unknown"


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"  # throughput: lower is a regression
    LOWER_IS_BETTER = "lower_is_better"  # latency, durations, counts of bad things


class MetricDef(BaseModel):
    """One metric ctt tracks over runs."""

    name: str
    unit: str
    direction: Direction
    margin: float = Field(description="default noise margin, relative to the baseline median")
    min_delta: float = Field(
        0.0,
        description="absolute floor of the margin: a metric whose median is 0 (restarts, "
        "backpressure) needs a step of at least this much",
    )
    checked: bool = Field(True, description="False: kept in history, never judged")
    sources: tuple[str, ...] = Field(description="JUnit property names, first found wins")
    help: str


def _m(
    name: str,
    unit: str,
    direction: Direction,
    margin: float,
    help_text: str,
    *,
    min_delta: float = 0.0,
    checked: bool = True,
    sources: tuple[str, ...] = (),
) -> MetricDef:
    return MetricDef(
        name=name,
        unit=unit,
        direction=direction,
        margin=margin,
        min_delta=min_delta,
        checked=checked,
        sources=sources or (f"metric.{name}",),
        help=help_text,
    )


_LOW, _HIGH = Direction.LOWER_IS_BETTER, Direction.HIGHER_IS_BETTER

CATALOG: dict[str, MetricDef] = {
    m.name: m
    for m in (
        _m(
            "throughput_records_per_s",
            "records/s",
            _HIGH,
            0.20,
            "output records per second at ctt's reader, after the warm-up",
            sources=("throughput_records_per_s", "metric.throughput_records_per_s"),
        ),
        _m("latency_p50_ms", "ms", _LOW, 0.30, "end-to-end latency p50", min_delta=20.0),
        _m("latency_p95_ms", "ms", _LOW, 0.30, "end-to-end latency p95", min_delta=20.0),
        _m("latency_p99_ms", "ms", _LOW, 0.50, "end-to-end latency p99", min_delta=50.0),
        _m(
            "backpressure_max",
            "ratio",
            _LOW,
            0.50,
            "highest share of time a vertex was backpressured",
            min_delta=0.10,
        ),
        _m("busy_max", "ratio", _LOW, 0.50, "highest busy share of a vertex", min_delta=0.10),
        _m(
            "watermark_lag_ms",
            "ms",
            _LOW,
            0.50,
            "newest event time sent minus the job's watermark, at the end of the run",
            min_delta=1000.0,
        ),
        _m("restarts", "count", _LOW, 0.0, "times Flink restarted the job", min_delta=0.5),
        _m(
            "checkpoints_completed",
            "count",
            _HIGH,
            0.5,
            "completed checkpoints (depends on the run's length: kept, not judged)",
            checked=False,
        ),
        _m(
            "checkpoints_failed",
            "count",
            _LOW,
            0.0,
            "checkpoints that failed while the job ran",
            min_delta=0.5,
        ),
        _m(
            "checkpoint_duration_p95_ms",
            "ms",
            _LOW,
            0.50,
            "p95 of the completed checkpoints' durations",
            min_delta=100.0,
        ),
        _m(
            "checkpoint_size_bytes",
            "bytes",
            _LOW,
            0.25,
            "checkpointed size of the latest checkpoint",
            min_delta=65536.0,
        ),
        _m(
            "late_records_dropped",
            "count",
            _LOW,
            0.0,
            "records the job dropped as late",
            min_delta=0.5,
        ),
        _m("records_in", "count", _HIGH, 0.0, "records the sources read", checked=False),
        _m("records_out", "count", _HIGH, 0.0, "records the sinks wrote", checked=False),
    )
}
"""Every metric ctt keeps per test case; the vertex rates (``vertex<i>.*``) are kept too."""

_VERTEX_PREFIX = "metric.vertex"


class CasePerformance(BaseModel):
    """The performance metrics one test case reported, by :data:`CATALOG` name.

    ``vertices`` holds per-vertex rates and backpressure (``vertex0.records_in_per_s``): kept in
    history, shown, never judged (a vertex index is not stable across SQL changes).
    """

    engine: str = UNKNOWN_ENGINE
    values: dict[str, float] = Field(default_factory=dict)
    vertices: dict[str, float] = Field(default_factory=dict)

    def flat(self) -> dict[str, float]:
        return {**self.values, **self.vertices}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def case_performance(case: TestCaseResult) -> CasePerformance | None:
    """The case's metrics, None when it reported none (a pytest or terraform case)."""
    props = case.properties
    if not props:
        return None
    values: dict[str, float] = {}
    for m in CATALOG.values():
        for source in m.sources:
            raw = props.get(source)
            number = _number(raw) if raw is not None else None
            if number is not None:
                values[m.name] = number
                break
    vertices = {
        key[len("metric.") :]: number
        for key, raw in props.items()
        if key.startswith(_VERTEX_PREFIX) and (number := _number(raw)) is not None
    }
    if not values and not vertices:
        return None
    return CasePerformance(
        engine=props.get(ENGINE_PROPERTY) or UNKNOWN_ENGINE, values=values, vertices=vertices
    )


class HistoryPoint(BaseModel):
    """One earlier passing run's value of a test's metric (from the history store)."""

    run_key: str
    created_at: datetime
    commit: str | None = None
    value: float


class PerfVerdict(StrEnum):
    OK = "ok"
    WARNING = "warning"  # beyond the margin, fewer than `consecutive` runs in a row
    REGRESSED = "regressed"  # beyond the margin `consecutive` runs in a row
    NO_BASELINE = "no_baseline"  # fewer passing runs in history than `min_samples`


class TrendSample(BaseModel):
    """One run's value of a metric, for the trend chart."""

    run_key: str
    label: str
    value: float
    beyond: bool = Field(False, description="beyond the margin of the baseline before it")


class MetricCheck(BaseModel):
    """One test's metric in the current run against the median of its recent passing runs."""

    suite: str
    test: str
    engine: str
    metric: str
    unit: str
    direction: Direction
    verdict: PerfVerdict
    current: float
    baseline_median: float | None = None
    baseline_runs: int = Field(0, description="passing runs the median is taken over")
    margin: float = Field(description="relative noise margin")
    allowed: float | None = Field(
        None, description="absolute change allowed: max(margin x median, the metric's floor)"
    )
    change: float | None = Field(
        None, description="relative change against the median, + is worse in either direction"
    )
    streak: int = Field(0, description="consecutive runs, this one included, beyond the margin")
    consecutive: int = Field(description="runs in a row beyond the margin that make a regression")
    trend: list[TrendSample] = Field(default_factory=list)

    def describe(self) -> str:
        """``test metric: current vs median M of N runs (margin, streak)``: the gate's line."""
        if self.baseline_median is None:
            return f"{self.test} [{self.engine}] {self.metric}: {self.current:g} (no baseline)"
        change = f"{self.change * 100:+.0f}% worse" if self.change is not None else "changed"
        return (
            f"{self.test} [{self.engine}] {self.metric}: {self.current:g} {self.unit} vs median "
            f"{self.baseline_median:g} of {self.baseline_runs} passing runs ({change}; margin "
            f"{self.margin * 100:.0f}%, {self.streak}/{self.consecutive} runs in a row)"
        )


class PerformanceReport(BaseModel):
    """Every metric check of a run, and the settings they were made with."""

    baseline_runs: int
    min_samples: int
    consecutive: int
    checks: list[MetricCheck] = Field(default_factory=list)
    truncated: bool = Field(False, description="more checks than the report keeps")

    def of(self, verdict: PerfVerdict | str) -> list[MetricCheck]:
        return [c for c in self.checks if c.verdict == verdict]

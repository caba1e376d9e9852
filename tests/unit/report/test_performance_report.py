"""Performance metrics of a case: read from JUnit properties, shown in the HTML report, exported."""

from __future__ import annotations

import re

from ctt.ci.telemetry import points, prometheus_text
from ctt.report.html import metric_chart, render_html
from ctt.report.junit import TestCaseResult
from ctt.report.performance import (
    Direction,
    MetricCheck,
    PerformanceReport,
    PerfVerdict,
    TrendSample,
    case_performance,
)
from tests.unit.report.test_html import _metrics


def test_case_performance_reads_job_metrics_and_validator_properties() -> None:
    case = TestCaseResult(
        name="t",
        properties={
            "engine": "confluent",
            "metric.latency_p99_ms": "812.5",
            "metric.throughput_records_per_s": "10.0",
            "throughput_records_per_s": "1234.5",  # the validator's own wins
            "metric.vertex1.backpressure_ratio": "0.25",
            "metric.restarts": "nan",
            "latency_p95_ms": "5",  # processing_latency_sla's, not a job metric name source
        },
    )
    perf = case_performance(case)
    assert perf is not None and perf.engine == "confluent"
    assert perf.values == {"latency_p99_ms": 812.5, "throughput_records_per_s": 1234.5}
    assert perf.vertices == {"vertex1.backpressure_ratio": 0.25}
    assert case_performance(TestCaseResult(name="pytest", properties={"x": "1"})) is None


def _check(verdict: PerfVerdict, test: str = "windows::tumble") -> MetricCheck:
    values = [100.0, 98.0, 103.0, 101.0, 240.0, 250.0]
    return MetricCheck(
        suite="flink",
        test=test,
        engine="local",
        metric="latency_p95_ms",
        unit="ms",
        direction=Direction.LOWER_IS_BETTER,
        verdict=verdict,
        current=250.0,
        baseline_median=100.5,
        baseline_runs=4,
        margin=0.3,
        allowed=30.15,
        change=1.49,
        streak=2,
        consecutive=2,
        trend=[
            TrendSample(run_key=f"r{i}", label=f"run {i}", value=v, beyond=v > 200)
            for i, v in enumerate(values)
        ],
    )


def _report(*checks: MetricCheck) -> PerformanceReport:
    return PerformanceReport(baseline_runs=10, min_samples=3, consecutive=2, checks=list(checks))


def test_html_performance_section_highlights_regressions_with_band_and_baseline() -> None:
    m = _metrics()
    m.performance_checks = _report(
        _check(PerfVerdict.REGRESSED), _check(PerfVerdict.OK, test="joins::<b>")
    )
    html = render_html(m)
    section = html[html.index('id="performance-metrics"') :]
    section = section[: section.index("</section>")]
    assert "1 regressed, 0 warnings, 2 metrics" in section
    assert section.count('<svg class="chart"') == 2
    assert section.count('class="band"') == 2 and section.count('class="baseline"') == 2
    assert section.count('<circle class="flagged"') == 4  # 2 charts x 2 runs beyond the margin
    assert 'class="perf-card regressed"' in section and "joins::&lt;b&gt;" in section
    assert re.search(r'<td class="regressed">regressed</td><td>windows::tumble</td>', section)
    assert "+149.0%" in section and "2/2" in section
    m.performance_checks = None
    assert 'id="performance-metrics"' not in render_html(m)


def test_metric_chart_band_is_the_margin_around_the_median() -> None:
    svg = str(metric_chart(_check(PerfVerdict.WARNING)))
    assert "baseline median: 100.5" in svg and "series-warn" in svg
    y_of = {
        float(v): float(y)
        for y, v in re.findall(r'cy="([\d.]+)" r="\d"><title>run \d: ([\d.]+)', svg)
    }
    band = re.search(r'<rect class="band" x="\d+" y="([\d.]+)" width="\d+" height="([\d.]+)"', svg)
    assert band is not None
    top, bottom = float(band.group(1)), float(band.group(1)) + float(band.group(2))
    assert top <= y_of[101.0] <= bottom and y_of[250.0] < top  # 250 is above (worse than) the band


def test_exported_regression_count_has_every_verdict() -> None:
    m = _metrics()
    m.performance_checks = _report(_check(PerfVerdict.REGRESSED), _check(PerfVerdict.WARNING, "b"))
    pts = points(m, None)
    counts = {p.labels["verdict"]: p.value for p in pts if p.name == "ctt_performance_regressions"}
    assert counts == {"regressed": 1.0, "warning": 1.0, "ok": 0.0, "no_baseline": 0.0}
    changes = [p for p in pts if p.name == "ctt_performance_change_ratio"]
    assert {p.labels["metric"] for p in changes} == {"latency_p95_ms"} and len(changes) == 2
    text = prometheus_text(pts)
    assert 'ctt_performance_regressions{branch="feat",verdict="regressed"} 1.0' in text

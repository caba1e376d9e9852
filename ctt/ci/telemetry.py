"""Test metrics for monitoring: the Prometheus text format (a node_exporter textfile or a
pushgateway push) and OpenTelemetry metrics over OTLP/HTTP.

One list of :class:`Point` is built from ``test-metrics.json`` and the gate report; both
exporters write exactly those, so a dashboard reads the same numbers either way. The alert
rules in ``continuous-testing/monitoring/ctt-alerts.yaml`` are written against these names.
prometheus_client and the OpenTelemetry SDK are imported inside the exporters: ``ctt``'s
start-up never loads them.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from ctt.ci.gate import GateReport, Verdict
from ctt.ci.http import HttpTarget, RetryPolicy, send
from ctt.errors import InfraError
from ctt.report.metrics import TestMetrics
from ctt.report.performance import PerfVerdict
from ctt.tls import shared_context

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = [
    "METRICS",
    "Point",
    "points",
    "prometheus_text",
    "push_otlp",
    "push_to_gateway",
    "pushgateway_path",
    "write_textfile",
]

# name -> (help, unit); every point below uses one of these
METRICS: dict[str, tuple[str, str]] = {
    "ctt_run_timestamp_seconds": ("When the run was recorded (Unix time).", "s"),
    "ctt_tests": ("Test cases of the run by result (passed, failed, error, skipped, flaky).", "1"),
    "ctt_pass_rate": ("passed / (tests - skipped) of the run.", "1"),
    "ctt_flaky_share": ("Share of tests that passed only on retry.", "1"),
    "ctt_new_failures": ("Tests failing now that passed in the baseline run.", "1"),
    "ctt_suite_duration_seconds": ("Wall time of each suite.", "s"),
    "ctt_suite_failed": ("1 when the suite failed, errored or is missing.", "1"),
    "ctt_suite_duration_change_ratio": (
        "Suite duration against the median of its recent passing runs (0.25 = 25% slower).",
        "1",
    ),
    "ctt_test_flakiness": ("Flakiness of a test over its recent history (0..1).", "1"),
    "ctt_performance_regressions": (
        "Test metrics of the run by regression verdict (regressed, warning, ok, no_baseline).",
        "1",
    ),
    "ctt_performance_change_ratio": (
        "A regressed or warned test metric against its baseline median (+0.3 = 30% worse).",
        "1",
    ),
    "ctt_streaming_data_accuracy": ("Lowest streaming data accuracy a suite reported.", "1"),
    "ctt_gate_failed": ("1 when a quality gate condition failed.", "1"),
    "ctt_gate_blocked": ("1 when the quality gates block the merge.", "1"),
}


class Point(BaseModel):
    name: str
    labels: dict[str, str]
    value: float


def points(
    metrics: TestMetrics, gate: GateReport | None, extra: dict[str, str] | None = None
) -> list[Point]:
    """Every value worth a time series; ``extra`` labels (e.g. schedule) go on each point."""
    base = {"branch": metrics.run.branch or "", **(extra or {})}
    t = metrics.totals
    out = [
        Point(
            name="ctt_run_timestamp_seconds", labels=base, value=metrics.run.created_at.timestamp()
        ),
        Point(name="ctt_pass_rate", labels=base, value=t.pass_rate),
        Point(name="ctt_flaky_share", labels=base, value=t.flaky_share),
        Point(name="ctt_new_failures", labels=base, value=float(metrics.new_failures.count)),
    ]
    for result, n in (
        ("passed", t.passed),
        ("failed", t.failed),
        ("error", t.errors),
        ("skipped", t.skipped),
        ("flaky", t.flaky),
    ):
        out.append(Point(name="ctt_tests", labels={**base, "result": result}, value=float(n)))
    for s in metrics.suites:
        labels = {**base, "suite": s.name}
        out.append(Point(name="ctt_suite_duration_seconds", labels=labels, value=s.duration))
        failed = s.status in ("failed", "error", "missing")
        out.append(Point(name="ctt_suite_failed", labels=labels, value=1.0 if failed else 0.0))
    for p in metrics.performance:
        out.append(
            Point(
                name="ctt_suite_duration_change_ratio",
                labels={**base, "suite": p.suite},
                value=p.change,
            )
        )
    for f in metrics.flaky_tests:
        if f.flakiness is not None:
            out.append(
                Point(
                    name="ctt_test_flakiness",
                    labels={**base, "suite": f.suite, "test": f.test},
                    value=f.flakiness,
                )
            )
    out.extend(_performance_points(metrics, base))
    lowest: dict[str, float] = {}
    for a in metrics.streaming_data_accuracy:
        lowest[a.suite] = min(a.value, lowest.get(a.suite, 1.0))
    for suite, value in sorted(lowest.items()):
        out.append(
            Point(name="ctt_streaming_data_accuracy", labels={**base, "suite": suite}, value=value)
        )
    if gate is not None:
        for r in gate.results:
            labels = {**base, "condition": r.condition, "blocking": str(r.blocking).lower()}
            value = 1.0 if r.verdict is Verdict.FAIL else 0.0
            out.append(Point(name="ctt_gate_failed", labels=labels, value=value))
        out.append(Point(name="ctt_gate_blocked", labels=base, value=1.0 if gate.blocked else 0.0))
    return out


def _performance_points(metrics: TestMetrics, base: dict[str, str]) -> list[Point]:
    """How many test metrics regressed (every verdict, 0 included: an alert needs the series),
    and each regressed or warned metric's change."""
    report = metrics.performance_checks
    if report is None:
        return []
    out = [
        Point(
            name="ctt_performance_regressions",
            labels={**base, "verdict": v.value},
            value=float(len(report.of(v))),
        )
        for v in PerfVerdict
    ]
    for c in report.checks:
        if c.verdict in (PerfVerdict.REGRESSED, PerfVerdict.WARNING) and c.change is not None:
            labels = {
                **base,
                "suite": c.suite,
                "test": c.test,
                "engine": c.engine,
                "metric": c.metric,
                "verdict": c.verdict.value,
            }
            out.append(Point(name="ctt_performance_change_ratio", labels=labels, value=c.change))
    return out


def _registry(pts: list[Point]) -> CollectorRegistry:
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry(auto_describe=False)
    gauges: dict[str, Gauge] = {}
    for p in pts:
        gauge = gauges.get(p.name)
        if gauge is None:
            gauge = Gauge(
                p.name, METRICS[p.name][0], labelnames=sorted(p.labels), registry=registry
            )
            gauges[p.name] = gauge
        gauge.labels(**p.labels).set(p.value)
    return registry


def prometheus_text(pts: list[Point]) -> str:
    """The classic text exposition format (version 0.0.4)."""
    from prometheus_client import generate_latest

    return generate_latest(_registry(pts), escaping="underscores").decode()


def write_textfile(pts: list[Point], path: Path) -> Path:
    """A ``*.prom`` file for node_exporter's textfile collector, replaced atomically."""
    from prometheus_client import write_to_textfile

    if path.suffix != ".prom":
        raise InfraError(f"{path}: the textfile collector reads only *.prom files")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), _registry(pts), escaping="underscores")
    return path


def pushgateway_path(job: str, grouping: dict[str, str]) -> str:
    """``/metrics/job/<job>{/<label>/<value>}``; values with ``/`` or empty use ``@base64``."""

    def part(label: str, value: str) -> str:
        if not value or "/" in value:
            encoded = base64.urlsafe_b64encode(value.encode()).decode() or "="
            return f"{label}@base64/{encoded}"
        return f"{label}/{quote(value, safe='')}"

    return "/metrics/" + "/".join([part("job", job), *(part(k, v) for k, v in grouping.items())])


def push_to_gateway(
    pts: list[Point],
    gateway: str,
    *,
    job: str = "ctt",
    grouping: dict[str, str] | None = None,
    policy: RetryPolicy | None = None,
) -> str:
    """PUT the points as the group's whole content (older metrics of the group go); returns the URL."""
    url = gateway.rstrip("/") + pushgateway_path(job, grouping or {})
    with httpx.Client(timeout=30.0, verify=shared_context()) as client:
        send(
            client,
            "PUT",
            url,
            HttpTarget("pushgateway"),
            policy=policy,
            content=prometheus_text(pts).encode(),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )
    return url


def push_otlp(
    pts: list[Point], endpoint: str | None, *, service: str = "ctt", timeout: float = 30.0
) -> None:
    """Export the points once as OTLP/HTTP protobuf gauges (``endpoint``: the full /v1/metrics URL;
    None: the OTEL_EXPORTER_OTLP_* environment variables, headers included)."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
    from opentelemetry.sdk.resources import Resource

    reader = InMemoryMetricReader()
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": service})
    )
    meter = provider.get_meter("ctt")
    gauges = {}
    for p in pts:
        if p.name not in gauges:
            help_text, unit = METRICS[p.name]
            gauges[p.name] = meter.create_gauge(p.name, unit=unit, description=help_text)
        gauges[p.name].set(p.value, attributes=p.labels)
    data = reader.get_metrics_data()
    provider.shutdown()
    exporter = OTLPMetricExporter(endpoint=endpoint, timeout=timeout)
    try:
        if data is None or exporter.export(data) is not MetricExportResult.SUCCESS:
            where = httpx.URL(endpoint).host if endpoint else "OTEL_EXPORTER_OTLP_ENDPOINT"
            raise InfraError(
                f"OTLP export to {where} failed",
                hint="check the endpoint and that the collector runs",
            )
    finally:
        exporter.shutdown()

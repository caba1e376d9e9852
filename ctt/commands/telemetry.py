"""``ctt metrics export``: the run's test metrics for Prometheus and OpenTelemetry.

Reads test-metrics.json (and evaluates the quality gates from it, as ``ctt gate`` does) and
writes any of: a ``*.prom`` file for node_exporter's textfile collector, a push to a
Prometheus pushgateway, an OTLP/HTTP export; with none of them, prints the text format.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ctt.config.gates import DEFAULT_GATES_FILE, GateMode
from ctt.console import Output

__all__ = ["export"]


def export(
    out: Output,
    *,
    metrics_path: Path = Path("test-metrics.json"),
    gates_path: Path = DEFAULT_GATES_FILE,
    gate_mode: GateMode | None = None,
    textfile: Path | None = None,
    pushgateway: str | None = None,
    job: str = "ctt",
    otlp_endpoint: str | None = None,
    otlp: bool = False,
    labels: dict[str, str] | None = None,
) -> int:
    """Export; returns the number of points."""
    from ctt.ci.gate import evaluate
    from ctt.ci.telemetry import points, prometheus_text, push_otlp, push_to_gateway, write_textfile
    from ctt.config.gates import load_gates
    from ctt.report.metrics import load_metrics

    metrics = load_metrics(metrics_path)
    gate = evaluate(metrics, load_gates(gates_path), gate_mode) if gates_path.exists() else None
    extra = dict(labels or {})
    schedule = os.environ.get("CTT_SCHEDULE", "")
    if schedule and not schedule.startswith("$"):  # "$CTT_SCHEDULE": unset, passed down as text
        extra.setdefault("schedule", schedule)
    pts = points(metrics, gate, extra)
    pushgateway = pushgateway or os.environ.get("CTT_PUSHGATEWAY_URL")
    if textfile is not None:
        write_textfile(pts, textfile)
        out.info(f"wrote {len(pts)} points to {textfile}")
    if pushgateway:
        grouping = {"branch": metrics.run.branch or "", **extra}
        url = push_to_gateway(pts, pushgateway, job=job, grouping=grouping)
        out.info(f"pushed {len(pts)} points to the pushgateway ({url.split('/metrics/')[0]})")
    if otlp or otlp_endpoint:
        push_otlp(pts, otlp_endpoint)
        out.info(f"exported {len(pts)} points over OTLP/HTTP")
    if textfile is None and not pushgateway and not (otlp or otlp_endpoint):
        sys.stdout.write(prometheus_text(pts))  # the document itself is the output
    return len(pts)

"""processing_latency_sla: p95 from a record's produce time to its output record, e.g. "5s"."""

from __future__ import annotations

from ctt.validate.base import Outcome, ValidationContext
from ctt.validate.checks._args import seconds
from ctt.validate.latency import latencies, p95
from ctt.validate.registry import register


@register("processing_latency_sla", parse=seconds)
def check(limit: float, ctx: ValidationContext) -> Outcome:
    values = latencies(ctx)
    q = p95(values)
    if q is None:
        return Outcome(
            name="processing_latency_sla", passed=False, summary="no output records to time"
        )
    return Outcome(
        name="processing_latency_sla",
        passed=q <= limit,
        summary=f"p95 latency {q * 1000:.0f} ms over {len(values)} records (SLA {limit * 1000:.0f} ms)",
        measured=q,
        threshold=limit,
        properties={
            "latency_p95_ms": f"{q * 1000:.1f}",
            "latency_max_ms": f"{max(values) * 1000:.1f}",
        },
    )

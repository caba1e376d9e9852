"""processing_latency_sla: p95 from a record's produce time to its output record, e.g. "5s"."""

from __future__ import annotations

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.latency import LatencySla, latencies, latency_outcome, parse_sla
from ctt.validate.registry import register


@register("processing_latency_sla", parse=parse_sla)
def check(sla: LatencySla, ctx: ValidationContext) -> Outcome:
    """From the broker's acknowledgement of an input to ctt reading its output record."""
    return latency_outcome(
        "processing_latency_sla", latencies(ctx), sla, what="processing", prop="latency"
    )

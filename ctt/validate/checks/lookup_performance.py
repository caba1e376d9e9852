"""lookup_performance: p95 latency of enriched (joined) records, e.g. "<100ms"."""

from __future__ import annotations

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.latency import LatencySla, latencies, latency_outcome, parse_sla
from ctt.validate.registry import register


@register("lookup_performance", parse=parse_sla)
def check(sla: LatencySla, ctx: ValidationContext) -> Outcome:
    """Time from when an event could be enriched to reading its enriched row.

    For event-time temporal joins that is when the watermark passed the event
    (a later event was produced, or input ended), not when it was produced.
    """
    values = latencies(ctx, watermark_aware=True)
    return latency_outcome("lookup_performance", values, sla, what="enrichment", prop="lookup")

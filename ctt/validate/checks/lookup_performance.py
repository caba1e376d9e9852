"""lookup_performance: p95 latency of enriched (joined) records, e.g. "<100ms"."""

from __future__ import annotations

from ctt.validate.base import Outcome, ValidationContext
from ctt.validate.checks._args import seconds
from ctt.validate.latency import latencies, p95
from ctt.validate.registry import register


@register("lookup_performance", parse=seconds)
def check(limit: float, ctx: ValidationContext) -> Outcome:
    """Time from when an event could be enriched to reading its enriched row.

    For event-time temporal joins that is when the watermark passed the event
    (a later event was produced, or input ended), not when it was produced.
    """
    values = latencies(ctx, watermark_aware=True)
    q = p95(values)
    if q is None:
        return Outcome(
            name="lookup_performance", passed=False, summary="no enriched records to time"
        )
    return Outcome(
        name="lookup_performance",
        passed=q <= limit,
        summary=f"p95 enrichment latency {q * 1000:.0f} ms over {len(values)} records (limit {limit * 1000:.0f} ms)",
        measured=q,
        threshold=limit,
        properties={"lookup_p95_ms": f"{q * 1000:.1f}"},
    )

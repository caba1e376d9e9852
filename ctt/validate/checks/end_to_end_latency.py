"""end_to_end_latency: p95 from an input's produce time to its row being visible in PostgreSQL.

A row's arrival is when ctt's poll of the table (every 10-200 ms while the test runs)
first saw it with those values, so each sample is high by at most one poll interval. Its
cause is matched as for ``processing_latency_sla`` (``ctt.validate.latency``): the
latest input sharing its values, else the last input produced before it. ``"2s"`` or
``{p95: 2s, min_samples: 20, warmup: 5}``; the percentiles are in the properties.
"""

from __future__ import annotations

from ctt.observed.model import Outcome, TableOutput, ValidationContext
from ctt.validate.checks._target import output, target
from ctt.validate.latency import LatencySla, latencies, latency_outcome, parse_sla
from ctt.validate.registry import register

_NAME = "end_to_end_latency"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


@register(_NAME, parse=parse_sla)
def check(sla: LatencySla, ctx: ValidationContext) -> Outcome:
    tt = target(ctx, _NAME)
    out = output(ctx, tt, _NAME)
    seen = TableOutput(table=tt.table, columns=out.columns, records=tt.records)
    timed = latencies(ctx.model_copy(update={"outputs": {tt.table: seen}}))
    outcome = latency_outcome(_NAME, timed, sla, what="end-to-end", prop="e2e")
    values = timed[sla.warmup :]
    for q in (0.5, 0.99):
        outcome.properties[f"e2e_p{round(q * 100)}_ms"] = f"{_quantile(values, q) * 1000:.1f}"
    return outcome

"""Latency of output records: from the produce time of the input that caused each one to its arrival.

The cause of an output row is the earliest produced input whose values agree
on every column the two share (e.g. user_id and event_timestamp). Outputs
with no such input (aggregates) fall back to the last input produced before
they arrived, a lower bound of their true latency. Documented in
docs/spec-reference.md.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from ctt.validate.base import InputRecord, Outcome, ValidationContext
from ctt.validate.rows import normalize


def _ident(row: dict[str, Any], cols: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(repr(normalize(row.get(c), None)) for c in cols)


def ready_times(inputs: list[InputRecord]) -> dict[int, float]:
    """When each input could first show up downstream of an event-time operator.

    An event at time t can leave a window or temporal join once the watermark
    passes t, i.e. once a record with event time >= t + delay was produced in
    the same table (or the input ended). Keyed by ``id()`` of the input.
    """
    out: dict[int, float] = {}
    by_table: dict[str, list[InputRecord]] = defaultdict(list)
    for rec in inputs:
        by_table[rec.table].append(rec)
    end = max((r.produced_at or 0.0) for r in inputs) if inputs else 0.0
    for recs in by_table.values():
        recs.sort(key=lambda r: r.produced_at or 0.0)
        for i, rec in enumerate(recs):
            if rec.event_time_ms is None or rec.watermark_delay_ms is None:
                out[id(rec)] = rec.produced_at or 0.0
                continue
            need = rec.event_time_ms + rec.watermark_delay_ms
            ready = next(
                (
                    r.produced_at
                    for r in recs[i:]
                    if r.event_time_ms is not None and r.event_time_ms > need
                ),
                end,
            )
            out[id(rec)] = max(ready or end, rec.produced_at or 0.0)
    return out


def latencies(ctx: ValidationContext, *, watermark_aware: bool = False) -> list[float]:
    """Seconds from cause to arrival for each output record (see module doc)."""
    inputs = [
        i for i in ctx.inputs if i.produced_at is not None and i.row is not None and not i.closing
    ]
    ready = (
        ready_times(inputs) if watermark_aware else {id(i): i.produced_at or 0.0 for i in inputs}
    )
    if not inputs:
        return []
    produced = sorted(i.produced_at for i in inputs if i.produced_at is not None)
    out: list[float] = []
    for table in ctx.outputs.values():
        names = {c.name for c in table.columns}
        by_table: dict[str, list[InputRecord]] = defaultdict(list)
        for rec in inputs:
            by_table[rec.table].append(rec)
        indexes = []
        for recs in by_table.values():
            shared = tuple(sorted(names & set(recs[0].row or {})))
            if not shared:
                continue
            index: dict[tuple[str, ...], float] = {}
            for rec in recs:
                key = _ident(rec.row or {}, shared)
                if key not in index:
                    index[key] = ready[id(rec)]
            indexes.append((shared, index))
        for out_rec in table.records:
            if out_rec.received_at is None or out_rec.op in ("-U", "-D"):
                continue
            # The row exists once all its inputs exist: the latest of its matching inputs.
            cause = None
            for shared, index in indexes:
                t = index.get(_ident(out_rec.row, shared))
                if t is not None:
                    cause = t if cause is None else max(cause, t)
            if cause is None:
                before = [p for p in produced if p <= out_rec.received_at]
                cause = before[-1] if before else None
            if cause is not None:
                out.append(max(0.0, out_rec.received_at - cause))
    return out


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def latency_outcome(
    name: str, values: list[float], limit: float, *, what: str, prop: str
) -> Outcome:
    """The verdict the latency checks share: p95 against a limit, with p95/max as properties."""
    q = p95(values)
    if q is None:
        return Outcome(name=name, passed=False, summary=f"no {what} records to time")
    return Outcome(
        name=name,
        passed=q <= limit,
        summary=f"p95 {what} latency {q * 1000:.0f} ms over {len(values)} records (limit {limit * 1000:.0f} ms)",
        measured=q,
        threshold=limit,
        properties={
            f"{prop}_p95_ms": f"{q * 1000:.1f}",
            f"{prop}_max_ms": f"{max(values) * 1000:.1f}",
        },
    )

"""Latency of output records: from the produce time of the input that caused each one to its arrival.

The cause of an output row is the earliest produced input whose values agree
on every column the two share (e.g. user_id and event_timestamp). Outputs
with no such input (aggregates) fall back to the last input produced before
they arrived, a lower bound of their true latency. Documented in
docs/spec-reference.md.
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ctt.config.durations import parse_duration
from ctt.errors import ConfigError
from ctt.observed.model import InputRecord, Outcome, ValidationContext
from ctt.observed.rows import normalize

DEFAULT_MIN_SAMPLES = 50
DEFAULT_WARMUP = 10


class LatencySla(BaseModel):
    """A latency limit measured over enough records to mean something.

    ``"<100ms"`` (the seed's form) is ``{p95: 100ms}`` with the defaults below. The first
    ``warmup`` timed records (in produce order) are excluded: they pay for cold JVM code
    paths and the reader's first fetch. Fewer than ``min_samples`` records after the warm-up
    is an error in the spec, never a pass or a fail: a p95 over 3 samples is not a measurement.
    """

    model_config = ConfigDict(extra="forbid")

    p95: float = Field(description="seconds")
    min_samples: int = Field(DEFAULT_MIN_SAMPLES, ge=1)
    warmup: int = Field(DEFAULT_WARMUP, ge=0)


def parse_sla(raw: Any) -> LatencySla:
    """``"<100ms"`` or ``{p95: "100ms", min_samples: 200, warmup: 20}``."""
    if isinstance(raw, dict):
        unknown = set(raw) - set(LatencySla.model_fields)
        if unknown:
            raise ValueError(
                f"unknown key {sorted(unknown)[0]!r}: expected p95, min_samples, warmup"
            )
        if "p95" not in raw:
            raise ValueError('missing `p95:` (a duration such as "100ms")')
        try:
            return LatencySla(**{**raw, "p95": parse_duration(raw["p95"])})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ValueError(f"`{err['loc'][0]}` {err['msg'].lower()}") from None
    return LatencySla(p95=parse_duration(raw))


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
    """Seconds from cause to arrival for each output record (see module doc), in produce order."""
    inputs = [
        i for i in ctx.inputs if i.produced_at is not None and i.row is not None and not i.closing
    ]
    ready = (
        ready_times(inputs) if watermark_aware else {id(i): i.produced_at or 0.0 for i in inputs}
    )
    if not inputs:
        return []
    produced = sorted(i.produced_at for i in inputs if i.produced_at is not None)
    out: list[tuple[float, float]] = []  # (cause, latency): sorted by cause below
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
                n_before = bisect.bisect_right(produced, out_rec.received_at)
                cause = produced[n_before - 1] if n_before else None
            if cause is not None:
                out.append((cause, max(0.0, out_rec.received_at - cause)))
    return [lat for _cause, lat in sorted(out)]


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


PERCENTILE_MIN_SAMPLES = 20
"""Timed records after the warm-up below which no percentile is kept: p99 of 5 says nothing."""
PERCENTILE_MAX_INPUTS = 200_000
"""Inputs above which a test keeps no percentiles unasked: matching costs ~12 us per input
(1.3 s for 100,000 at load 11), 15 s of a 1.2-million-record load test."""


def percentile_metrics(
    ctx: ValidationContext, *, warmup: int = DEFAULT_WARMUP
) -> dict[str, float | int]:
    """End-to-end latency p50/p95/p99 (ms) of every test, kept in its results and history.

    The same measure as ``processing_latency_sla`` (input ack to output read, see the module
    doc), after ``warmup`` records; empty with fewer than :data:`PERCENTILE_MIN_SAMPLES`
    timed records or more than :data:`PERCENTILE_MAX_INPUTS` inputs (a latency SLA in the
    spec still measures those).
    """
    if len(ctx.inputs) > PERCENTILE_MAX_INPUTS:
        return {}
    values = latencies(ctx)[warmup:]
    if len(values) < PERCENTILE_MIN_SAMPLES:
        return {}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "latency_p50_ms": round(q[49] * 1000, 1),
        "latency_p95_ms": round(q[94] * 1000, 1),
        "latency_p99_ms": round(q[98] * 1000, 1),
        "latency_samples": len(values),
    }


def latency_outcome(
    name: str, timed: list[float], sla: LatencySla, *, what: str, prop: str
) -> Outcome:
    """The verdict the latency checks share: p95 after the warm-up against the limit.

    Raises :class:`ConfigError` when the test cannot yield enough samples: that is the
    spec's problem (too little input), not a slow day.
    """
    values = timed[sla.warmup :]
    if len(values) < sla.min_samples:
        raise ConfigError(
            f"{name} needs at least {sla.min_samples} timed {what} records after a warm-up of "
            f"{sla.warmup}, but this test yields {len(timed)} in all",
            hint="generate more input (test_data: ... count:) or set `min_samples:`; "
            "a p95 over a handful of records is not a measurement",
        )
    q = p95(values)
    assert q is not None
    limit = sla.p95
    return Outcome(
        name=name,
        passed=q <= limit,
        summary=(
            f"p95 {what} latency {q * 1000:.0f} ms over {len(values)} records "
            f"(after {sla.warmup} warm-up; limit {limit * 1000:.0f} ms)"
        ),
        measured=q,
        threshold=limit,
        properties={
            f"{prop}_p95_ms": f"{q * 1000:.1f}",
            f"{prop}_max_ms": f"{max(values) * 1000:.1f}",
            f"{prop}_samples": str(len(values)),
            f"{prop}_warmup": str(sla.warmup),
        },
    )

"""The job's metrics as a test result keeps them: flat names, for results JSON, JUnit and history."""

from __future__ import annotations

from collections.abc import Iterable

from ctt.observed.model import InputRecord, StatementMetrics
from ctt.validate.checks.checkpoint_duration_p95 import p95

MetricValue = float | int | str | None


def watermark_lag_ms(m: StatementMetrics, inputs: Iterable[InputRecord]) -> int | None:
    """Newest event time ctt sent minus the job's watermark when the metrics were read (>= 0);
    None without event time or a watermark."""
    newest = max((r.event_time_ms for r in inputs if r.event_time_ms is not None), default=None)
    if newest is None or m.watermark_ms is None:
        return None
    return max(0, newest - m.watermark_ms)


def result_metrics(
    m: StatementMetrics, inputs: Iterable[InputRecord] = (), *, running_lag_ms: int | None = None
) -> dict[str, MetricValue]:
    """Counts and checkpoint figures; a figure the engine does not report is left out.

    ``watermark_lag_ms`` is the larger of the lag at the end and ``running_lag_ms``, the most
    seen while a paced input was sent (at the end, ctt's closing records have usually moved
    the watermark past every event: 0 says little).
    """
    out: dict[str, MetricValue] = {
        "late_records_dropped": m.late_records_dropped,
        "records_in": m.records_in,
        "records_out": m.records_out,
    }
    if m.restarts is not None:
        out["restarts"] = m.restarts
    lags = [v for v in (watermark_lag_ms(m, inputs), running_lag_ms) if v is not None]
    if lags:
        out["watermark_lag_ms"] = max(lags)
    if m.backpressure_ratio is not None:
        out["backpressure_max"] = m.backpressure_ratio
    busy = [v.busy_ratio for v in m.vertices if v.busy_ratio is not None]
    if busy:
        out["busy_max"] = max(busy)
    for i, v in enumerate(m.vertices):
        for what in ("records_in_per_s", "records_out_per_s", "backpressure_ratio"):
            value = getattr(v, what)
            if value is not None:
                out[f"vertex{i}.{what}"] = round(value, 3)
    cps = m.checkpoints
    if cps is not None:
        out["checkpoints_completed"] = cps.completed
        out["checkpoints_failed"] = cps.failed_running
        out["checkpoints_failed_while_starting"] = cps.failed_while_starting
        out["checkpoints_restored"] = cps.restored
        if cps.durations_ms:
            out["checkpoint_duration_max_ms"] = max(cps.durations_ms)
            out["checkpoint_duration_p95_ms"] = p95(cps.durations_ms)
        if cps.last_size_bytes is not None:
            out["checkpoint_size_bytes"] = cps.last_size_bytes
    return out

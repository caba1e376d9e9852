"""The job's metrics as a test result keeps them: flat names, for results JSON, JUnit and history."""

from __future__ import annotations

from ctt.observed.model import StatementMetrics

MetricValue = float | int | str | None


def result_metrics(m: StatementMetrics) -> dict[str, MetricValue]:
    """Counts and checkpoint figures; a figure the engine does not report is left out."""
    out: dict[str, MetricValue] = {
        "late_records_dropped": m.late_records_dropped,
        "records_in": m.records_in,
        "records_out": m.records_out,
    }
    if m.restarts is not None:
        out["restarts"] = m.restarts
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
        if cps.last_size_bytes is not None:
            out["checkpoint_size_bytes"] = cps.last_size_bytes
    return out

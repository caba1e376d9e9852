"""Flink's ``/jobs/:id/checkpoints`` and ``numRestarts`` turned into ctt's models."""

from __future__ import annotations

from typing import Any

from ctt.observed.model import CheckpointStats


def checkpoint_stats(data: dict[str, Any]) -> CheckpointStats:
    """Counts, durations and size from the REST answer; savepoints are left out of durations."""
    counts = data.get("counts", {}) or {}
    history = data.get("history", []) or []
    durations = [
        int(h.get("end_to_end_duration", 0))
        for h in reversed(history)  # Flink lists newest first: keep them in order taken
        if h.get("status") == "COMPLETED" and not h.get("is_savepoint")
    ]
    latest = (data.get("latest") or {}).get("completed") or {}
    restored = (data.get("latest") or {}).get("restored") or {}
    size = latest.get("checkpointed_size", latest.get("state_size"))
    return CheckpointStats(
        completed=int(counts.get("completed", 0)),
        failed=int(counts.get("failed", 0)),
        in_progress=int(counts.get("in_progress", 0)),
        restored=int(counts.get("restored", 0)),
        durations_ms=durations,
        last_size_bytes=int(size) if size is not None else None,
        last_restored_id=int(restored["id"]) if restored.get("id") is not None else None,
        last_completed_id=latest_completed_id(data),
        last_triggered_id=max((int(h["id"]) for h in history if "id" in h), default=None),
        last_completed_path=latest.get("external_path") or None,
    )


def latest_completed_id(data: dict[str, Any]) -> int | None:
    """Id of the newest completed checkpoint (not savepoint), None before one."""
    for h in data.get("history", []) or []:
        if h.get("status") == "COMPLETED" and not h.get("is_savepoint"):
            return int(h["id"])
    latest = (data.get("latest") or {}).get("completed") or {}
    return int(latest["id"]) if latest.get("id") is not None else None

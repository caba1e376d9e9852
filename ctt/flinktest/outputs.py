"""Turning what a sink wrote into rows with changelog ops, by the sink's mode."""

from __future__ import annotations

import json
from typing import Any

from ctt.kafka.consume import ConsumedRecord
from ctt.observed.model import OutputRow
from ctt.sql.ddl import SinkMode


class UndecodableOutput(ValueError):
    pass


def _load(raw: bytes | None) -> Any:
    if raw is None or raw == b"":
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise UndecodableOutput(f"output record is not JSON: {raw[:80]!r}") from exc


def decode(rec: ConsumedRecord, mode: SinkMode, last: dict[bytes, Any]) -> list[OutputRow]:
    """One Kafka record -> changelog rows (+I, -U, +U, -D).

    Upsert records are expanded into retractions (``-U old`` before ``+U new``,
    ``-D old`` for a tombstone) using ``last``, the latest row per key, so every
    sink mode reduces to the same final-state arithmetic.
    """
    at, ts = rec.received_at, rec.timestamp_ms

    def row(op: str, value: Any) -> OutputRow:
        return OutputRow(op=op, row=value, received_at=at, kafka_timestamp_ms=ts)

    if mode is SinkMode.APPEND:
        value = _load(rec.value)
        return [] if value is None else [row("+I", value)]
    if mode is SinkMode.RETRACT:
        env = _load(rec.value)
        if env is None:
            return []
        out = []
        if env.get("before") is not None:
            out.append(row("-U" if env.get("after") is not None else "-D", env["before"]))
        if env.get("after") is not None:
            out.append(row("+I" if env.get("before") is None else "+U", env["after"]))
        return out
    key = rec.key or b""
    value = _load(rec.value)
    old = last.get(key)
    if value is None:
        last.pop(key, None)
        return [] if old is None else [row("-D", old)]
    last[key] = value
    return [row("+I", value)] if old is None else [row("-U", old), row("+U", value)]

"""Turning what a sink wrote into rows with changelog ops, by the sink's mode."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from ctt.kafka.consume import ConsumedRecord
from ctt.observed.model import OutputRow
from ctt.sql.ddl import SinkMode

_JSON_TEXT = "io.debezium.data.Json"  # ctt.sink.envelope.JSON_TEXT
_DATE = "org.apache.kafka.connect.data.Date"


class UndecodableOutput(ValueError):
    pass


def _load(raw: bytes | None) -> Any:
    if raw is None or raw == b"":
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise UndecodableOutput(f"output record is not JSON: {raw[:80]!r}") from exc


def _payload(raw: bytes | None) -> bytes | None:
    """The payload of a Connect envelope, as JSON bytes again (None for a tombstone)."""
    value = _load(raw)
    if not (isinstance(value, dict) and "payload" in value):
        return raw
    payload = value["payload"]
    if isinstance(payload, dict):
        for f in (value.get("schema") or {}).get("fields") or []:
            name, kind, v = f.get("field"), f.get("name"), payload.get(f.get("field"))
            if v is None:
                continue
            if kind == _JSON_TEXT and isinstance(v, str):
                payload[name] = json.loads(v)  # nested values the connector writes as json
            elif kind == _DATE and isinstance(v, int):
                payload[name] = (date(1970, 1, 1) + timedelta(days=v)).isoformat()
    return json.dumps(payload).encode()


def decode(
    rec: ConsumedRecord, mode: SinkMode, last: dict[bytes, Any], *, envelope: bool = False
) -> list[OutputRow]:
    """One Kafka record -> changelog rows (+I, -U, +U, -D).

    Upsert records are expanded into retractions (``-U old`` before ``+U new``,
    ``-D old`` for a tombstone) using ``last``, the latest row per key, so every
    sink mode reduces to the same final-state arithmetic. ``envelope``: the values are
    Kafka Connect envelopes (``sink: {schemas: true}``), the row is their payload.
    """
    if envelope:
        rec = rec.model_copy(update={"value": _payload(rec.value)})
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

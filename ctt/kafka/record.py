"""One Kafka record as ctt produces it: generated, or a spec's explicit row, with its ground-truth marks.

A slotted dataclass rather than a pydantic model: millions of these are made
per run and validation would cost more than generating them. What crosses
package boundaries as pydantic is the ground truth (:mod:`ctt.datagen.ground_truth`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from ctt.config.datagen import MalformedKind


@dataclass(slots=True)
class GeneratedRecord:
    """A record ready to produce, with everything the ground truth needs to know of it.

    Treat it as immutable; it is not ``frozen`` because frozen construction
    costs a fifth of the generator's time.
    """

    index: int
    """Emission order (0-based), across partitions; closing events come last."""
    key: bytes | None
    value: bytes
    fields: dict[str, Any] | None
    """The value as a JSON-ready dict (timestamps as 'yyyy-MM-dd HH:mm:ss.SSS', decimals as
    numbers); None when the value is not a record at all (malformed ``not_json``)."""
    event_time_ms: int
    """Epoch milliseconds; also the Kafka record timestamp."""
    partition: int
    watermark_ms: int | None
    """The partition's watermark just before this record: max event time seen in the
    partition minus the delay minus 1 ms (Flink's BoundedOutOfOrderness); None before any."""
    late: bool
    """``event_time_ms <= watermark_ms``: Flink's watermark had already passed it."""
    malformed: MalformedKind | None = None
    closing: bool = False
    """A closing event: moves the watermark past the last window; validators ignore it."""
    headers: tuple[tuple[str, bytes], ...] = ()


def json_scalar(value: Any) -> Any:
    """A Python value in the JSON form of :attr:`GeneratedRecord.fields`: timestamps as
    UTC ``yyyy-MM-dd HH:mm:ss.SSS``, dates and times ISO, decimals as numbers."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value

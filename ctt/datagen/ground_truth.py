"""The ground truth: what was sent, where it landed, and which events were late.

JSONL, one line per record in delivery order per partition, preceded by one
header line. Validators and the expectation oracle read it with
:func:`read_ground_truth`; they never re-derive it from Kafka.

Header line: ``{"header": {...}}`` (:class:`GroundTruthHeader`). Record lines:
:class:`GroundTruthRecord`. ``value`` is the record as a JSON object (also for
Avro, so readers never decode Avro); ``value_base64`` holds the exact bytes
when they are not the compact JSON of ``value`` (Avro, malformed records).

Lateness (``late``) is per partition, as Flink's Kafka source computes
watermarks per split: ``watermark = max event time seen so far in the
partition - delay - 1 ms`` (``BoundedOutOfOrdernessWatermarks``), and an event
is late when ``event_time_ms <= watermark_ms`` at its emission. Flink combines
partitions by taking the minimum; the generator places late events behind
that minimum too (see docs/data-generation.md), so a late event is late by
both definitions when partitions are read in emission order.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from ctt.datagen.config import MalformedKind
from ctt.datagen.record import GeneratedRecord
from ctt.errors import ConfigError

FORMAT_VERSION = 1
LATENESS_DEFINITION = "per-partition: late iff event_time_ms <= max_event_time_seen - delay_ms - 1"


class GroundTruthHeader(BaseModel):
    """First line: what the records below are."""

    model_config = ConfigDict(frozen=True)

    version: int = FORMAT_VERSION
    table: str
    topic: str | None = None
    seed: int
    partitions: int
    format: str
    watermark_delay_ms: int
    event_time_column: str | None = None
    lateness: str = LATENESS_DEFINITION


class GroundTruthRecord(BaseModel):
    """One record as delivered to Kafka."""

    model_config = ConfigDict(frozen=True)

    index: int
    partition: int
    offset: int | None = Field(None, description="None when written without producing")
    key: str | None
    value: dict[str, Any] | None
    value_base64: str | None = None
    event_time_ms: int
    watermark_ms: int | None
    late: bool
    malformed: MalformedKind | None = None
    closing: bool = False

    def raw_value(self) -> bytes:
        """The exact bytes sent."""
        if self.value_base64 is not None:
            return base64.b64decode(self.value_base64)
        return _compact(self.value).encode()


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class GroundTruthWriter:
    """Appends records as their delivery reports arrive. Use as a context manager."""

    def __init__(self, path: Path | str, header: GroundTruthHeader) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] = self.path.open("w", encoding="utf-8", buffering=1 << 20)
        self._fh.write(_compact({"header": header.model_dump(mode="json")}) + "\n")
        self.records = 0
        self._json_values = header.format == "json"

    def write(self, rec: GeneratedRecord, offset: int | None) -> None:
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
        if self._json_values and rec.fields is not None and rec.malformed is None:
            value_json = rec.value.decode()  # the JSON we sent is the value itself: no re-encode
            extra = ""
        else:
            value_json = _compact(rec.fields) if rec.fields is not None else "null"
            extra = f',"value_base64":"{base64.b64encode(rec.value).decode()}"'
        malformed = f'"{rec.malformed.value}"' if rec.malformed is not None else "null"
        self._fh.write(
            f'{{"index":{rec.index},"partition":{rec.partition},'
            f'"offset":{"null" if offset is None else offset},'
            f'"key":{orjson.dumps(key).decode()},"value":{value_json}{extra},'
            f'"event_time_ms":{rec.event_time_ms},'
            f'"watermark_ms":{"null" if rec.watermark_ms is None else rec.watermark_ms},'
            f'"late":{"true" if rec.late else "false"},"malformed":{malformed},'
            f'"closing":{"true" if rec.closing else "false"}}}\n'
        )
        self.records += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> GroundTruthWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_ground_truth(path: Path | str) -> tuple[GroundTruthHeader, list[GroundTruthRecord]]:
    """Header and records of a ground-truth file, sorted by (partition, offset or index)."""
    header, records = None, []
    for header_or_record in iter_ground_truth(path):
        if isinstance(header_or_record, GroundTruthHeader):
            header = header_or_record
        else:
            records.append(header_or_record)
    if header is None:
        raise ConfigError("not a ground-truth file (no header line)", file=str(path))
    records.sort(key=lambda r: (r.partition, r.offset if r.offset is not None else r.index))
    return header, records


def iter_ground_truth(path: Path | str) -> Iterator[GroundTruthHeader | GroundTruthRecord]:
    """Stream the file line by line (for files too big to hold)."""
    try:
        fh = Path(path).open(encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ConfigError(f"cannot read ground truth: {exc}", file=str(path)) from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                if "header" in doc:
                    yield GroundTruthHeader.model_validate(doc["header"])
                else:
                    yield GroundTruthRecord.model_validate(doc)
            except ValueError as exc:
                raise ConfigError(
                    f"bad ground-truth line: {exc}", file=str(path), line=lineno
                ) from None

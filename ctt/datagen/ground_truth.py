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

from ctt.config.datagen import MalformedKind
from ctt.errors import ConfigError
from ctt.kafka.record import GeneratedRecord

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
        return orjson.dumps(self.value)


class GroundTruthWriter:
    """Appends records as their delivery reports arrive. Use as a context manager."""

    def __init__(self, path: Path | str, header: GroundTruthHeader) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] = self.path.open("wb", buffering=1 << 20)
        self._fh.write(orjson.dumps({"header": header.model_dump(mode="json")}) + b"\n")
        self.records = 0
        self._json_values = header.format == "json"

    @property
    def json_values(self) -> bool:
        """Whether values are written as the JSON that was sent (see :func:`line_parts`)."""
        return self._json_values

    def write(self, rec: GeneratedRecord, offset: int | None) -> None:
        """One line: this runs once per delivered record."""
        prefix, suffix = line_parts(rec, self._json_values)
        self.write_parts(prefix, offset, suffix)

    def write_parts(self, prefix: bytes, offset: int | None, suffix: bytes) -> None:
        """One line from :func:`line_parts` (made ahead, e.g. in a generator process)."""
        self._fh.write(prefix + (b"null" if offset is None else b"%d" % offset) + suffix)
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


def line_parts(
    rec: GeneratedRecord, json_values: bool, keys: dict[bytes, bytes] | None = None
) -> tuple[bytes, bytes]:
    """A record's line up to its offset and after it, assembled from bytes.

    The offset is known only from the delivery report; everything else can be
    rendered before (:mod:`ctt.datagen.pipeline` does it in its worker process).
    ``json_values``: the values sent are JSON, so a valid record's ``value`` is
    the bytes sent as they are (no re-encode). ``keys`` caches the JSON of keys.
    """
    return line_parts_of(
        json_values,
        keys,
        rec.index,
        rec.key,
        rec.value,
        rec.fields,
        rec.event_time_ms,
        rec.partition,
        rec.watermark_ms,
        rec.late,
        rec.malformed,
        rec.closing,
    )


def line_parts_of(
    json_values: bool,
    keys: dict[bytes, bytes] | None,
    index: int,
    raw_key: bytes | None,
    raw_value: bytes,
    fields: dict[str, Any] | None,
    event_time_ms: int,
    partition: int,
    watermark_ms: int | None,
    late: bool,
    malformed: MalformedKind | None,
    closing: bool,
) -> tuple[bytes, bytes]:
    """:func:`line_parts` from a record's fields (for callers that never build the record)."""
    if raw_key is None:
        key = b"null"
    elif keys is None:
        key = orjson.dumps(raw_key.decode("utf-8", "replace"))
    else:
        cached = keys.get(raw_key)
        if cached is None:
            cached = keys[raw_key] = orjson.dumps(raw_key.decode("utf-8", "replace"))
        key = cached
    if json_values and fields is not None and malformed is None:
        value = raw_value
    else:
        value = orjson.dumps(fields) + b',"value_base64":"' + base64.b64encode(raw_value) + b'"'
    return (
        b'{"index":%d,"partition":%d,"offset":' % (index, partition),
        b',"key":%s,"value":%s,"event_time_ms":%d,"watermark_ms":%s,"late":%s,"malformed":%s,"closing":%s}\n'
        % (
            key,
            value,
            event_time_ms,
            b"null" if watermark_ms is None else b"%d" % watermark_ms,
            b"true" if late else b"false",
            b"null" if malformed is None else b'"%s"' % malformed.value.encode(),
            b"true" if closing else b"false",
        ),
    )


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

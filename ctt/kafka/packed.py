"""What the producer accepts besides plain records: packed tuples and a delivery log.

``ctt generate`` makes records in a worker process and ships them as tuples laid
out exactly as :func:`ctt.kafka.produce.produce` sends them, so the sending
process does no Python work per record. The layout and the two protocols live
here, in the Kafka layer: the generator (``ctt.datagen.pipeline``) and its
ground-truth writer implement them, and the producer never imports the generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ctt.kafka.record import GeneratedRecord

# One record as a tuple (cheap to pickle): (value, key, partition, timestamp, headers, meta);
# meta is what its delivery report needs.
VALUE, KEY, PARTITION, TIMESTAMP, HEADERS, META = 0, 1, 2, 3, 4, 5
VALUE_LEN, BYTES, GT_PREFIX, GT_SUFFIX, LATE, MALFORMED, CLOSING = 0, 1, 2, 3, 4, 5, 6
INDEX, WATERMARK, FIELDS = 7, 8, 9
Packed = tuple[Any, ...]


@runtime_checkable
class PackedRecords(Protocol):
    """Records already packed as tuples of the layout above, in batches."""

    json_values: bool

    def batches(self) -> Iterator[list[Packed]]: ...

    def __iter__(self) -> Iterator[GeneratedRecord]: ...

    def close(self) -> None: ...


class DeliveryLog(Protocol):
    """Where each delivered record is written with its real offset (the ground truth)."""

    path: Path

    @property
    def json_values(self) -> bool: ...

    def write(self, rec: GeneratedRecord, offset: int | None) -> None: ...

    def write_parts(self, prefix: bytes, offset: int | None, suffix: bytes) -> None: ...

    def close(self) -> None: ...

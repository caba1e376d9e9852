"""Basic produce/consume on the real broker: what ctt's producer sends, its reader reads back.

The ``basic_producer_consumer`` suite (continuous-testing/config/suites.yaml) runs this file.
The expectations are independent of the code under test: the records are built here,
and the topic's contents are compared with them one by one (count, keys, values,
partitions, timestamps, headers, and per-partition order), so a lost, duplicated,
reordered or misrouted record fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from ctt.kafka.admin import TopicAdmin
from ctt.kafka.consume import ConsumedRecord, TopicReader
from ctt.kafka.produce import produce
from ctt.kafka.record import GeneratedRecord
from tests.integration.conftest import StackHandle

pytestmark = pytest.mark.integration

PARTITIONS = 3
COUNT = 600
BASE_TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _records() -> list[GeneratedRecord]:
    return [
        GeneratedRecord(
            index=i,
            key=f"user-{i % 17}".encode(),
            value=f'{{"n": {i}}}'.encode(),
            fields={"n": i},
            event_time_ms=BASE_TS + i * 1000,
            partition=(i % 17) % PARTITIONS,
            watermark_ms=None,
            late=False,
            headers=(("source", b"basic-producer-consumer"),),
        )
        for i in range(COUNT)
    ]


@pytest.fixture
def topic(stack: StackHandle) -> Iterator[str]:
    name = f"ctt-basic-pc-{uuid.uuid4().hex[:8]}"
    admin = TopicAdmin(stack.bootstrap_servers)
    admin.create({name: PARTITIONS})
    try:
        yield name
    finally:
        admin.delete([name])


def _read_all(bootstrap: str, topic: str) -> list[ConsumedRecord]:
    reader = TopicReader(bootstrap, [topic])
    try:
        reader.read_to_end(deadline_s=60)
        return list(reader.records)
    finally:
        reader.close()


def test_every_produced_record_is_consumed_once_in_partition_order(
    stack: StackHandle, topic: str
) -> None:
    sent = _records()
    report = produce(sent, topic, stack.bootstrap_servers)
    assert report.ok, report.errors
    assert (report.sent, report.delivered) == (COUNT, COUNT)

    got = _read_all(stack.bootstrap_servers, topic)
    assert len(got) == COUNT
    by_value = {r.value: r for r in got}
    assert len(by_value) == COUNT, "a record was consumed twice"
    for rec in sent:
        seen = by_value[rec.value]
        assert seen.key == rec.key
        assert seen.partition == rec.partition
        assert seen.timestamp_ms == rec.event_time_ms
    for part in range(PARTITIONS):
        in_topic = [r.value for r in sorted(got, key=lambda r: r.offset) if r.partition == part]
        produced = [r.value for r in sent if r.partition == part]
        assert in_topic == produced, f"partition {part} is not in produce order"


def test_a_second_reader_sees_the_same_records(stack: StackHandle, topic: str) -> None:
    """Reading does not consume: two group-less readers each see the whole topic."""
    sent = _records()[:50]
    assert produce(sent, topic, stack.bootstrap_servers).ok
    first = _read_all(stack.bootstrap_servers, topic)
    second = _read_all(stack.bootstrap_servers, topic)
    key = sorted((r.partition, r.offset, r.value) for r in first)
    assert key == sorted((r.partition, r.offset, r.value) for r in second)
    assert len(key) == len(sent)

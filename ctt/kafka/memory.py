"""An in-memory :class:`~ctt.kafka.client.KafkaClient`, for unit tests of the runner (no broker)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from ctt.kafka.admin import KafkaError
from ctt.kafka.client import OnSent
from ctt.kafka.consume import ConsumedRecord
from ctt.kafka.record import GeneratedRecord


class MemoryKafka:
    """Topics as lists; a reader sees whatever is in its topics when it reads (nothing waits)."""

    bootstrap_servers = "memory:9092"

    def __init__(self) -> None:
        self.topics: dict[str, list[ConsumedRecord]] = {}
        self.deleted: list[str] = []
        self.produced: list[tuple[str, GeneratedRecord]] = []
        self.readers: list[MemoryReader] = []

    def create_topics(self, topics: dict[str, int]) -> None:
        for name in topics:
            self.topics.setdefault(name, [])

    def delete_topics(self, topics: Iterable[str]) -> list[str]:
        gone = [t for t in topics if self.topics.pop(t, None) is not None]
        self.deleted += gone
        return gone

    def append(self, topic: str, value: bytes | None, key: bytes | None = None) -> None:
        """Write one record as a job's sink would."""
        if topic not in self.topics:
            raise KafkaError(f"topic {topic} does not exist")
        recs = self.topics[topic]
        recs.append(
            ConsumedRecord(
                topic=topic,
                partition=0,
                offset=len(recs),
                key=key,
                value=value,
                timestamp_ms=int(time.time() * 1000),
                received_at=time.time(),
            )
        )

    def produce(
        self,
        records: list[GeneratedRecord],
        topic: str,
        *,
        on_sent: OnSent | None = None,
        producer_config: dict[str, Any] | None = None,
    ) -> None:
        for rec in records:
            self.append(topic, rec.value, rec.key)
            self.produced.append((topic, rec))
            if on_sent:
                on_sent(rec, time.time())

    def reader(self, topics: list[str]) -> MemoryReader:
        reader = MemoryReader(self, topics)
        self.readers.append(reader)
        return reader


class MemoryReader:
    def __init__(self, kafka: MemoryKafka, topics: list[str]) -> None:
        self._kafka = kafka
        self.topics = topics
        self.records: list[ConsumedRecord] = []
        self.closed = False

    def _poll(self) -> None:
        have = len(self.records)
        everything = [r for t in self.topics for r in self._kafka.topics.get(t, [])]
        self.records.extend(everything[have:])

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def read_until(
        self, done: Callable[[list[ConsumedRecord]], bool], *, deadline_s: float, quiet_s: float
    ) -> bool:
        """Poll until ``done``; "quiet" once a poll brings nothing new after something came."""
        end = time.monotonic() + deadline_s
        while True:
            before = len(self.records)
            self._poll()
            if done(self.records):
                return True
            if (self.records and len(self.records) == before) or time.monotonic() > end:
                return False
            time.sleep(0.001)

    def read_to_end(self, *, deadline_s: float) -> None:
        self._poll()

    def close(self) -> None:
        self.closed = True

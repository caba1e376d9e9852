"""Reading what a Flink job wrote: every record of a topic, until enough arrived or it went quiet."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaException, TopicPartition
from pydantic import BaseModel

from ctt.kafka.admin import KafkaError, client_config

Decode = Callable[[str, bytes | None, bytes | None], tuple[bytes | None, bytes | None]]


class ConsumedRecord(BaseModel):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    received_at: float  # wall clock (time.time()) when ctt read it, for latency

    model_config = {"arbitrary_types_allowed": True}


class TopicReader:
    """A group-less consumer assigned to all partitions of some topics from the beginning."""

    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        *,
        config: dict[str, str] | None = None,
        decode: Decode | None = None,
    ) -> None:
        """``decode``: (topic, key, value) -> (key, value) as the validators read them
        (Schema Registry framing taken off, for one); records as they are without it."""
        self._consumer = Consumer(
            client_config(
                bootstrap,
                **{
                    **(config or {}),
                    "group.id": f"ctt-reader-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "fetch.wait.max.ms": 10,
                },
            )
        )
        self.topics = topics
        self._assigned: set[str] = set()
        self.records: list[ConsumedRecord] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None
        self._closed = False
        self._next: dict[tuple[str, int], int] = {}  # (topic, partition) -> next offset to read
        self._decode = decode

    def start(self) -> None:
        """Poll in a background thread, so arrival times are taken as records arrive."""

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.poll(0.05)
                except Exception as exc:  # surfaced by stop()
                    self._error = exc
                    return

        self._thread = threading.Thread(target=loop, name="ctt-reader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread; raise what it failed with, if anything."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._error is not None:
            raise self._error

    def _assign_new(self) -> None:
        missing = [t for t in self.topics if t not in self._assigned]
        if not missing:
            return
        try:
            md = self._consumer.list_topics(timeout=10)
        except KafkaException:  # the broker is away for a moment: assign on a later poll
            return
        parts = []
        for t in missing:
            if t in md.topics and md.topics[t].partitions:
                parts += [TopicPartition(t, p, 0) for p in md.topics[t].partitions]
                self._assigned.add(t)
        if parts:
            self._consumer.incremental_assign(parts)

    def poll(self, timeout_s: float = 0.2) -> list[ConsumedRecord]:
        """Whatever arrived within ``timeout_s``."""
        with self._lock:
            return self._poll(timeout_s)

    def _poll(self, timeout_s: float) -> list[ConsumedRecord]:
        self._assign_new()
        if not self._assigned:
            time.sleep(timeout_s)
            return []
        try:
            # poll() returns as soon as one record arrives (consume() would wait out its
            # timeout to fill a batch, and arrival times would be late by up to that much);
            # then drain what is already here without waiting.
            first = self._consumer.poll(timeout_s)
            msgs = [] if first is None else [first, *self._consumer.consume(10_000, timeout=0)]
        except KafkaException as exc:
            raise KafkaError(f"consuming {self.topics} failed: {exc.args[0]}") from exc
        now = time.time()
        new = []
        for m in msgs:
            err = m.error()
            if err is not None:
                if err.code() == -191:  # partition EOF
                    continue
                raise KafkaError(f"consuming {m.topic()} failed: {err}")
            key, value = m.key(), m.value()
            if self._decode is not None:
                key, value = self._decode(m.topic() or "", key, value)
            new.append(
                ConsumedRecord(
                    topic=m.topic(),
                    partition=m.partition(),
                    offset=m.offset(),
                    key=key,
                    value=value,
                    timestamp_ms=m.timestamp()[1],
                    received_at=now,
                )
            )
        self.records.extend(new)
        for rec in new:
            self._next[(rec.topic, rec.partition)] = rec.offset + 1
        return new

    def read_until(
        self, done: Callable[[list[ConsumedRecord]], bool], *, deadline_s: float, quiet_s: float
    ) -> bool:
        """Poll until ``done(records)`` or no record came for ``quiet_s`` (after the first), or the deadline.

        Returns whether ``done`` was reached. ``quiet_s`` only ends the wait once
        something arrived, so a slow job start is not mistaken for silence.
        """
        end = time.monotonic() + deadline_s
        last = time.monotonic()
        while True:
            if self.poll():
                last = time.monotonic()
            if done(self.records):
                return True
            now = time.monotonic()
            if now > end or (self.records and now - last > quiet_s):
                return False

    def read_to_end(self, *, deadline_s: float) -> None:
        """Read until every assigned partition's position reaches its high watermark (as of now)."""
        self._assign_new()
        targets = {}
        try:
            for t in self.topics:
                md = self._consumer.list_topics(t, timeout=10).topics.get(t)
                for p in md.partitions if md else {}:
                    tp = TopicPartition(t, p)
                    _low, high = self._consumer.get_watermark_offsets(tp, timeout=10)
                    targets[(t, p)] = high
        except KafkaException as exc:
            raise KafkaError(
                f"cannot read the end offsets of {self.topics}: {exc.args[0]}"
            ) from exc
        end = time.monotonic() + deadline_s
        while True:
            if all(self._next.get(tp, 0) >= high for tp, high in targets.items()):
                return
            # A transactional topic ends in a commit marker that is never delivered: the fetch
            # position (local, no request) moves past it while the last record's offset + 1 does not.
            pos = {
                (p.topic, p.partition): p.offset
                for p in self._consumer.position([TopicPartition(t, p) for t, p in targets])
            }
            if all(max(self._next.get(tp, 0), pos.get(tp, 0)) >= h for tp, h in targets.items()):
                return
            if time.monotonic() > end:
                raise KafkaError(
                    f"could not read {self.topics} to their end within {deadline_s:.0f}s"
                )
            self.poll()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._consumer.close()

"""The idempotent producer: every record delivered exactly once, or the run fails with a count.

``enable.idempotence=true`` and ``acks=all``: the broker de-duplicates retries,
so a broker restart during a run loses and duplicates nothing. Every delivery
report is counted; records without a successful report fail the run with
:class:`DeliveryFailed` (an :class:`~ctt.errors.InfraError`, exit code 3).
confluent-kafka exceptions become ctt errors here, at the edge.

Kafka record timestamps carry the event time. The ground truth is written from
delivery reports, so it holds the real partition and offset of every record.

Records that are :class:`~ctt.kafka.packed.PackedRecords` (``ctt generate``'s pipeline)
arrive as tuples from a generator process and are sent as they are, with their
ground-truth lines rendered there up to the offset: this process only sends,
counts and writes.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError as _LibKafkaError
from confluent_kafka import KafkaException, Message, Producer
from pydantic import BaseModel, Field

from ctt.config.datagen import Pattern
from ctt.errors import InfraError
from ctt.kafka.admin import client_config
from ctt.kafka.packed import (
    BYTES,
    CLOSING,
    GT_PREFIX,
    GT_SUFFIX,
    LATE,
    MALFORMED,
    VALUE_LEN,
    DeliveryLog,
    PackedRecords,
)
from ctt.kafka.record import GeneratedRecord

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 10,
    "batch.size": 1_000_000,
    "batch.num.messages": 10_000,
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 1_048_576,
    "compression.type": "none",
    "message.max.bytes": 1_000_000,
}
MAX_ERRORS_KEPT = 5


class ProduceReport(BaseModel):
    """What a run sent and what Kafka confirmed."""

    topic: str
    sent: int = 0
    delivered: int = 0
    failed: int = Field(0, description="delivery reports with an error")
    undelivered: int = Field(0, description="no delivery report before the flush deadline")
    bytes: int = Field(0, description="key + value bytes delivered")
    seconds: float = 0.0
    records_per_s: float = 0.0
    late: int = 0
    malformed: int = 0
    closing: int = 0
    errors: list[str] = Field(default_factory=list, description="first distinct errors")
    ground_truth: Path | None = None

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.undelivered == 0 and self.delivered == self.sent


class DeliveryFailed(InfraError):
    """Some records were not delivered; carries the report."""

    def __init__(self, report: ProduceReport) -> None:
        lost = report.failed + report.undelivered
        first = f": {report.errors[0]}" if report.errors else ""
        super().__init__(
            f"{lost} of {report.sent} records were not delivered to {report.topic}{first}",
            hint="check the broker (ctt stack status, ctt stack logs kafka) and run again",
        )
        self.report = report


class RateSchedule:
    """Cumulative events allowed after ``t`` seconds, for a target rate and pattern."""

    def __init__(
        self,
        rate: float,
        pattern: Pattern = Pattern.CONSTANT,
        *,
        period: float = 60.0,
        burst_factor: float = 10.0,
    ) -> None:
        self.rate, self.pattern = rate, pattern
        self.period, self.burst_factor = period, burst_factor

    def allowed(self, t: float) -> float:
        r, p = self.rate, self.period
        if self.pattern is Pattern.BURST:
            burst = min(1.0, p)
            bursts = math.floor(t / p) * burst + min(t % p, burst)
            return r * t + r * (self.burst_factor - 1) * bursts
        if self.pattern is Pattern.RAMP:
            if t < p:
                return r * (0.1 * t + 0.45 * t * t / p)
            return r * (0.55 * p + t - p)
        if self.pattern is Pattern.SINE:
            w = 2 * math.pi / p
            return r * t + r * 0.5 * (1 - math.cos(w * t)) / w
        return r * t


class Progress(BaseModel):
    sent: int
    delivered: int
    bytes: int
    seconds: float


class _Tally:
    """Counts delivery reports and writes the ground truth from them (with real offsets).

    Plain attributes, not the pydantic report: this runs once per record.
    """

    def __init__(self, report: ProduceReport, ground_truth: DeliveryLog | None) -> None:
        self.report = report
        self.write = ground_truth.write if ground_truth is not None else None
        self.write_parts = ground_truth.write_parts if ground_truth is not None else None
        self.delivered_n = self.failed_n = self.bytes_n = 0
        self.late_n = self.malformed_n = self.closing_n = 0
        self.pending: dict[int, deque[Any]] = {}  # GeneratedRecord, or Packed (fast path)
        self.hook: Callable[[GeneratedRecord, float], None] | None = None

    def error(self, text: str) -> None:
        if text not in self.report.errors and len(self.report.errors) < MAX_ERRORS_KEPT:
            self.report.errors.append(text)

    def on_report(self, err: _LibKafkaError | None, msg: Message) -> None:
        """The producer-wide delivery callback: cheaper than a callable per message.

        Reports for a partition arrive in produce order (the idempotent producer
        keeps order), so the record is the oldest pending one of its partition.
        """
        part = msg.partition()
        queue = self.pending.get(part) if part is not None else None
        if not queue:
            self.failed_n += 1
            self.error(f"delivery report for an unknown record (partition {msg.partition()})")
            return
        rec = queue.popleft()
        if len(msg) != len(rec.value):
            self.failed_n += 1
            self.error("delivery reports out of order: ground truth would be wrong")
            return
        self.delivered(rec, err, msg)

    def on_report_packed(self, err: _LibKafkaError | None, msg: Message) -> None:
        """:meth:`on_report` for records sent as :mod:`ctt.kafka.packed` tuples."""
        part = msg.partition()
        queue = self.pending.get(part) if part is not None else None
        if not queue:
            self.failed_n += 1
            self.error(f"delivery report for an unknown record (partition {msg.partition()})")
            return
        meta = queue.popleft()
        if len(msg) != meta[VALUE_LEN]:
            self.failed_n += 1
            self.error("delivery reports out of order: ground truth would be wrong")
            return
        if err is not None:
            self.failed_n += 1
            self.error(str(err.str()))
            return
        self.delivered_n += 1
        self.bytes_n += meta[BYTES]
        if meta[LATE]:
            self.late_n += 1
        if meta[MALFORMED] is not None:
            self.malformed_n += 1
        if meta[CLOSING]:
            self.closing_n += 1
        if self.write_parts is not None:
            self.write_parts(meta[GT_PREFIX], msg.offset(), meta[GT_SUFFIX])

    def delivered(self, rec: GeneratedRecord, err: _LibKafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed_n += 1
            self.error(str(err.str()))
            return
        self.delivered_n += 1
        self.bytes_n += len(rec.value) + (len(rec.key) if rec.key else 0)
        if rec.late:
            self.late_n += 1
        if rec.malformed is not None:
            self.malformed_n += 1
        if rec.closing:
            self.closing_n += 1
        if self.write is not None:
            self.write(rec, msg.offset())
        if self.hook is not None:
            self.hook(rec, time.time())

    def fill(self) -> None:
        rep = self.report
        rep.delivered, rep.bytes = self.delivered_n, self.bytes_n
        rep.failed += self.failed_n
        rep.late, rep.malformed, rep.closing = self.late_n, self.malformed_n, self.closing_n


_Headers = list[tuple[str, str | bytes | None]]
_Sendable = tuple[bytes, bytes | None, int, int, _Headers | None, Any]


def _stream(records: Iterable[GeneratedRecord], packed: bool) -> Iterator[_Sendable]:
    """(value, key, partition, timestamp, headers, pending item) per record, in order."""
    if packed:
        assert isinstance(records, PackedRecords)
        # the worker's tuples have this layout already: no Python step per record
        return itertools.chain.from_iterable(records.batches())
    return (
        (
            rec.value,
            rec.key,
            rec.partition,
            rec.event_time_ms,
            list(rec.headers) if rec.headers else None,
            rec,
        )
        for rec in records
    )


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[list[bool]]:
    """Ctrl-C appends to the yielded list instead of raising wherever Python code runs.

    Raised inside a delivery callback, KeyboardInterrupt is lost by confluent-kafka
    (``SystemError: ... returned NULL without setting an exception``, with a
    traceback); produce() checks the list and raises it itself. Only in the main
    thread and only over Python's default handler.
    """
    flag: list[bool] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield flag
        return

    def handler(signum: int, frame: object) -> None:
        flag.append(True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def topic_partitions(bootstrap_servers: str, topic: str, *, timeout_s: float = 15.0) -> int | None:
    """Partition count of ``topic``, or None if it does not exist; InfraError if Kafka is unreachable."""
    producer = Producer(client_config(bootstrap_servers))
    try:
        md = producer.list_topics(topic, timeout=timeout_s)
    except KafkaException as exc:
        raise InfraError(
            f"cannot reach Kafka at {bootstrap_servers}: {exc.args[0]}",
            hint="start the local stack with `ctt stack up` or pass --bootstrap-servers",
        ) from None
    meta = md.topics.get(topic)
    if meta is None or meta.error is not None:
        return None
    return len(meta.partitions)


def produce(
    records: Iterable[GeneratedRecord],
    topic: str,
    bootstrap_servers: str,
    *,
    ground_truth: DeliveryLog | None = None,
    rate: RateSchedule | None = None,
    progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 0.5,
    producer_config: dict[str, Any] | None = None,
    flush_timeout_s: float = 300.0,
    on_sent: Callable[[GeneratedRecord, float], None] | None = None,
) -> ProduceReport:
    """Send ``records`` to ``topic`` (at ``rate`` if given) and wait for every delivery report.

    Returns the report when every record was delivered; raises
    :class:`DeliveryFailed` (with the report) when any was not, and
    :class:`InfraError` when Kafka is unreachable or the producer fails fatally.
    """
    report = ProduceReport(
        topic=topic, ground_truth=ground_truth.path if ground_truth is not None else None
    )
    tally = _Tally(report, ground_truth)
    # records from a generator process: send its tuples as they are (no GeneratedRecord each)
    packed = (
        isinstance(records, PackedRecords)
        and on_sent is None
        and (ground_truth is None or ground_truth.json_values == records.json_values)
    )
    fatal: list[str] = []
    producer = _producer(bootstrap_servers, producer_config, tally, packed, fatal)
    tally.hook = on_sent  # when the broker acknowledged each record, for latency validation
    pace = _Pace(rate, progress, progress_every_s, tally)
    stop = contextlib.ExitStack()
    interrupted = stop.enter_context(_deferred_interrupt())
    try:
        _send_all(producer, _stream(records, packed), topic, tally, fatal, interrupted, pace)
        remaining = _flush(producer, flush_timeout_s, interrupted)
    finally:
        stop.close()
        if isinstance(records, PackedRecords):
            records.close()
        report.seconds = time.monotonic() - pace.started
        tally.fill()
        if ground_truth is not None:
            ground_truth.close()
    return _verdict(report, remaining, fatal, progress)


def _producer(
    bootstrap_servers: str,
    producer_config: dict[str, Any] | None,
    tally: _Tally,
    packed: bool,
    fatal: list[str],
) -> Producer:
    """The producer, its delivery reports going to ``tally`` and fatal errors to ``fatal``."""

    def on_error(err: _LibKafkaError) -> None:
        if err.fatal():
            fatal.append(str(err.str()))
        else:
            tally.error(str(err.str()))

    conf = client_config(
        bootstrap_servers,
        **{
            **PRODUCER_DEFAULTS,
            **(producer_config or {}),
            "error_cb": on_error,
            "on_delivery": tally.on_report_packed if packed else tally.on_report,
        },
    )
    try:
        return Producer(conf)
    except KafkaException as exc:
        raise InfraError(f"cannot create the Kafka producer: {exc.args[0]}") from None


class _Pace:
    """The send loop's clock: the rate to keep and when to report progress."""

    def __init__(
        self,
        rate: RateSchedule | None,
        progress: Callable[[Progress], None] | None,
        every_s: float,
        tally: _Tally,
    ) -> None:
        self.rate, self.progress, self.every_s, self.tally = rate, progress, every_s, tally
        self.started = time.monotonic()
        self.next_tick = self.started + every_s

    def report(self, sent: int, now: float) -> None:
        """Progress so far, at most once every ``every_s``."""
        if self.progress is not None and now >= self.next_tick:
            self.next_tick = now + self.every_s
            self.progress(
                Progress(
                    sent=sent,
                    delivered=self.tally.delivered_n,
                    bytes=self.tally.bytes_n,
                    seconds=now - self.started,
                )
            )


def _send_all(
    producer: Producer,
    stream: Iterator[_Sendable],
    topic: str,
    tally: _Tally,
    fatal: list[str],
    interrupted: list[bool],
    pace: _Pace,
) -> None:
    """Send every record, serving delivery reports as the local queue fills.

    The hot path, kept as one loop on purpose: per record it only sends and appends to
    the partition's pending queue, through names bound to locals up front; delivery
    reports, Ctrl-C, fatal errors, the rate and progress are looked at every 256
    records (the rate on every record only when one is set). ``tally.report.sent`` is
    the count sent, also when this raises.
    """
    send, poll, pending = producer.produce, producer.poll, tally.pending
    rate, started = pace.rate, pace.started
    sent = 0
    try:
        for value, key, part, ts, headers, item in stream:
            while True:
                try:
                    send(topic, value, key, partition=part, timestamp=ts, headers=headers)
                    queue = pending.get(part)
                    if queue is None:
                        queue = pending[part] = deque()
                    queue.append(item)
                    break
                except BufferError:  # local queue full: serve delivery reports, then retry
                    poll(0.05)
                    if interrupted:
                        raise KeyboardInterrupt from None
                except KafkaException as exc:
                    err = exc.args[0]
                    if getattr(err, "fatal", lambda: False)():
                        raise InfraError(f"Kafka producer failed: {err}") from None
                    tally.report.failed += 1  # rejected before sending (e.g. too large)
                    tally.error(str(err))
                    break
            sent += 1
            if sent & 255 == 0:
                poll(0)
                if interrupted:
                    raise KeyboardInterrupt
                if fatal:
                    raise InfraError(f"Kafka producer failed: {fatal[0]}")
                now = time.monotonic()
                if rate is not None:
                    while sent > rate.allowed(now - started) and not interrupted:
                        poll(0.005)
                        now = time.monotonic()
                pace.report(sent, now)
            elif rate is not None and sent > rate.allowed(time.monotonic() - started):
                while sent > rate.allowed(time.monotonic() - started) and not interrupted:
                    poll(0.005)
    finally:
        tally.report.sent = sent


def _flush(producer: Producer, timeout_s: float, interrupted: list[bool]) -> int:
    """Wait up to ``timeout_s`` for the outstanding delivery reports; how many are left."""
    deadline = time.monotonic() + timeout_s
    remaining: int = producer.flush(min(0.5, timeout_s))
    while remaining and not interrupted and time.monotonic() < deadline:
        remaining = producer.flush(max(0.0, min(0.5, deadline - time.monotonic())))
    if interrupted:
        raise KeyboardInterrupt
    return remaining


def _verdict(
    report: ProduceReport,
    remaining: int,
    fatal: list[str],
    progress: Callable[[Progress], None] | None,
) -> ProduceReport:
    """The finished report, or the error that says what was not delivered."""
    if fatal:
        raise InfraError(f"Kafka producer failed: {fatal[0]}")
    sent = report.sent
    report.undelivered = max(0, remaining, sent - report.delivered - report.failed)
    report.records_per_s = report.delivered / report.seconds if report.seconds > 0 else 0.0
    if progress is not None:
        progress(
            Progress(
                sent=sent, delivered=report.delivered, bytes=report.bytes, seconds=report.seconds
            )
        )
    if not report.ok:
        raise DeliveryFailed(report)
    return report

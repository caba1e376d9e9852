"""Unit tests of the producer's pure parts (the broker is exercised in tests/integration)."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.config.datagen import GeneratorConfig, Malformed, Pattern, TableShape
from ctt.datagen.generate import generate
from ctt.datagen.ground_truth import GroundTruthWriter
from ctt.datagen.pipeline import PipelinedRecords
from ctt.kafka.packed import META
from ctt.kafka.produce import DeliveryFailed, ProduceReport, RateSchedule, _Tally
from ctt.kafka.record import GeneratedRecord
from tests.unit.datagen.test_pipeline import _header


@given(
    pattern=st.sampled_from(list(Pattern)),
    rate=st.floats(1, 1e5),
    times=st.lists(st.floats(0, 600), min_size=2, max_size=20),
)
def test_schedule_is_monotonic(pattern: Pattern, rate: float, times: list[float]) -> None:
    sched = RateSchedule(rate, pattern, period=30)
    values = [sched.allowed(t) for t in sorted(times)]
    assert values == sorted(values)
    assert sched.allowed(0) == 0


@pytest.mark.parametrize("pattern", [Pattern.CONSTANT, Pattern.BURST, Pattern.SINE])
def test_periodic_patterns_average_at_least_rate(pattern: Pattern) -> None:
    sched = RateSchedule(100, pattern, period=10, burst_factor=5)
    assert sched.allowed(100) >= 100 * 100 - 1e-6


def test_ramp_reaches_rate() -> None:
    sched = RateSchedule(100, Pattern.RAMP, period=10)
    assert sched.allowed(20) - sched.allowed(19) == pytest.approx(100)
    assert sched.allowed(1) - sched.allowed(0) < 20


def test_delivery_failed_counts() -> None:
    report = ProduceReport(
        topic="t", sent=10, delivered=7, failed=1, undelivered=2, errors=["Broker: timed out"]
    )
    exc = DeliveryFailed(report)
    assert "3 of 10 records were not delivered to t" in str(exc)
    assert exc.exit_code == 3
    assert not report.ok


def test_ctrl_c_is_deferred_to_produce() -> None:
    """Inside produce(), Ctrl-C only sets a flag (raised in a delivery callback it would be lost)."""
    import os
    import signal
    import time

    from ctt.kafka.produce import _deferred_interrupt

    # produce() defers only over Python's default handler (a test runner may have put its own):
    # install the default for the test, and put back whatever was there.
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with _deferred_interrupt() as interrupted:
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + 5
            while not interrupted and time.monotonic() < deadline:
                time.sleep(0.001)
            assert interrupted
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)


class _Msg:
    """What the delivery callback reads of a confluent_kafka.Message."""

    def __init__(self, rec: GeneratedRecord, offset: int) -> None:
        self._rec, self._offset = rec, offset

    def partition(self) -> int:
        return self._rec.partition

    def offset(self) -> int:
        return self._offset

    def __len__(self) -> int:
        return len(self._rec.value)


def test_packed_delivery_reports_count_and_write_as_records(
    events: TableShape, tmp_path: Path
) -> None:
    """produce()'s callback for worker tuples gives the plain callback's counts and file."""
    cfg = GeneratorConfig(
        count=600, late_data_percentage="10%", malformed=Malformed(share="10%"), keys=20
    )
    header = _header(cfg)
    records = list(generate(events, cfg))
    packed = [
        p[META] for batch in PipelinedRecords(events, cfg, fork=False).batches() for p in batch
    ]
    results = []
    for name, items, callback in (
        ("plain", records, "on_report"),
        ("packed", packed, "on_report_packed"),
    ):
        report = ProduceReport(topic="t")
        with GroundTruthWriter(tmp_path / f"{name}.jsonl", header) as writer:
            tally = _Tally(report, writer)
            for rec, item in zip(records, items, strict=True):
                tally.pending.setdefault(rec.partition, deque()).append(item)
            for rec in records:
                getattr(tally, callback)(None, _Msg(rec, rec.index + 1000))
            tally.fill()
        results.append(((tmp_path / f"{name}.jsonl").read_bytes(), report))
    (plain_gt, plain_report), (packed_gt, packed_report) = results
    assert packed_gt == plain_gt
    assert packed_report == plain_report
    assert (plain_report.delivered, plain_report.failed) == (len(records), 0)
    assert plain_report.late > 0 and plain_report.malformed > 0 and plain_report.closing == 3

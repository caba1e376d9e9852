"""Which watermark a late record waits for before it is sent."""

from ctt.flinktest.runner import _flink_watermark
from ctt.kafka.record import GeneratedRecord


def rec(partition: int, ts: int, wm: int | None, late: bool = True) -> GeneratedRecord:
    return GeneratedRecord(index=0, key=None, value=b"{}", fields={}, event_time_ms=ts, partition=partition,
                           watermark_ms=wm, late=late)


def test_on_time_records_never_wait() -> None:
    assert _flink_watermark(rec(0, 100, 50, late=False), {0: 200}, {0}, 10) is None


def test_single_partition_waits_for_its_own_watermark() -> None:
    assert _flink_watermark(rec(0, 100, 189), {0: 200}, {0}, 10) == 189


def test_several_partitions_wait_for_the_minimum() -> None:
    # partition 1 lags: Flink's watermark is min(200, 150) - 10 - 1
    assert _flink_watermark(rec(0, 100, 189), {0: 200, 1: 150}, {0, 1}, 10) == 139


def test_a_partition_without_data_yet_means_no_wait() -> None:
    # Flink's watermark stays at its minimum until partition 1 delivers: waiting would hang
    assert _flink_watermark(rec(0, 100, 189), {0: 200}, {0, 1}, 10) is None

"""Unit tests of the producer's pure parts (the broker is exercised in tests/integration)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.config.datagen import Pattern
from ctt.kafka.produce import DeliveryFailed, ProduceReport, RateSchedule


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

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("another SIGINT handler is installed")
    with _deferred_interrupt() as interrupted:
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 5
        while not interrupted and time.monotonic() < deadline:
            time.sleep(0.001)
        assert interrupted
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

"""The generator's rate paces produced input: chunks of 1/20 s, a schedule, the achieved rate."""

from __future__ import annotations

from ctt.flinktest.pacing import Pacer
from tests.unit.state.test_recovery import rec


def test_chunks_keep_order_and_hold_a_twentieth_of_a_second() -> None:
    segments = [[rec(i) for i in range(250)], [rec(i) for i in range(250, 260)]]
    chunks = Pacer(1000).chunks(segments)
    assert [len(c) for c in chunks] == [50, 50, 50, 50, 50, 10]
    assert [r.index for c in chunks for r in c] == list(range(260))


def test_schedule_waits_when_ahead_and_not_when_behind() -> None:
    now = [100.0]
    p = Pacer(100, clock=lambda: now[0])
    assert p.delay() == 0.0  # the first chunk starts the clock
    p.sent = 50
    assert p.delay() == 0.5  # 50 records at 100/s are due at +0.5 s
    now[0] = 101.0
    assert p.delay() == 0.0  # behind schedule: no wait
    assert p.achieved() == 50.0

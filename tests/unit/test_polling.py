"""The poll schedule: short first, growing, capped -- and it really sleeps those intervals."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from ctt.polling import FIRST_S, Backoff


@given(cap=st.floats(min_value=0.001, max_value=10.0), polls=st.integers(min_value=1, max_value=60))
def test_intervals_start_short_grow_and_never_pass_the_cap(cap: float, polls: int) -> None:
    backoff = Backoff(cap)
    intervals = [backoff.next_interval() for _ in range(polls)]
    assert intervals[0] == min(FIRST_S, cap)
    assert all(a <= b for a, b in itertools.pairwise(intervals))
    assert all(i <= cap for i in intervals)


def test_a_long_wait_reaches_the_cap_within_a_dozen_polls() -> None:
    backoff = Backoff(0.2)
    intervals = [backoff.next_interval() for _ in range(12)]
    assert intervals[-1] == 0.2
    assert sum(intervals[:5]) < 0.15  # the first five polls come within ~0.13 s


def test_wait_sleeps_the_interval_it_reports() -> None:
    slept: list[float] = []
    backoff = Backoff(1.0, first=0.1, growth=2.0, sleep=slept.append)
    for _ in range(5):
        backoff.wait()
    assert slept == [0.1, 0.2, 0.4, 0.8, 1.0]

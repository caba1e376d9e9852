"""Poll intervals that start short and grow: a fast engine answers at once, a slow one is not hammered.

Every wait in ctt polls with a deadline; this is the interval between two polls.
Flink's gateway answers DDL in tens of milliseconds and a short job finishes in a
few hundred, so a fixed 0.2 s interval made the interval itself the test's cost.
Starting at 10 ms and growing by half each poll up to a cap keeps the first answers
close to the engine's own latency and long waits at the cap's request rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

FIRST_S = 0.01
GROWTH = 1.5


class Backoff:
    """Successive poll intervals: ``first``, then x``growth`` each poll, never above ``cap``."""

    def __init__(
        self,
        cap: float,
        *,
        first: float = FIRST_S,
        growth: float = GROWTH,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cap = cap
        self._next = min(first, cap)
        self._growth = growth
        self._sleep = sleep

    def next_interval(self) -> float:
        """The interval to wait now; the one after it is longer, up to the cap."""
        interval = self._next
        self._next = min(self._next * self._growth, self.cap)
        return interval

    def wait(self) -> None:
        """Sleep until the next poll is due (a poll interval, not synchronization)."""
        self._sleep(self.next_interval())

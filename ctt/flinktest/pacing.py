"""Rate control for generated input: a table's generator `rate:` paces what the runner produces.

Records go out in chunks of 1/20 s worth; before each chunk the pacer waits until the schedule
(start + records sent / rate) allows it. When the producer cannot keep up, chunks go out back
to back: the achieved rate is the producer's, and the run reports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ctt.kafka.record import GeneratedRecord

_CHUNKS_PER_S = 20


class Pacer:
    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._start: float | None = None
        self.sent = 0

    def chunks(self, segments: list[list[GeneratedRecord]]) -> list[list[GeneratedRecord]]:
        """Segments cut to at most 1/20 s of records each (order kept)."""
        size = max(1, int(self.rate / _CHUNKS_PER_S))
        return [seg[i : i + size] for seg in segments for i in range(0, len(seg), size)]

    def delay(self) -> float:
        """Seconds to wait before the next chunk (0 when behind schedule)."""
        now = self._clock()
        if self._start is None:
            self._start = now
        return max(0.0, self._start + self.sent / self.rate - now)

    def achieved(self) -> float | None:
        """Records/s since the first chunk, None before one."""
        if self._start is None:
            return None
        span = self._clock() - self._start
        return self.sent / span if span > 0 else None

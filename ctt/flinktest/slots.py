"""Keeping the cluster's slots busy, and saying how busy they were.

A test spends most of its wall time outside its job: rendering, planning through
the gateway, creating topics and tables, validating. If each worker held a slot
for the whole test, slots would sit idle while their worker planned. The runner
therefore runs more workers than it has job slots and takes a :class:`SlotBudget`
permit only from submitting the job to cancelling it; the other workers plan
meanwhile. :class:`SlotSampler` reads the cluster's slot use while the run goes,
so the report says how much of the cluster the run kept busy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from pydantic import BaseModel, Field

from ctt.engines.base import Capacity
from ctt.errors import CttError

SAMPLE_EVERY_S = 0.25


class SlotUse(BaseModel):
    """The cluster's TaskManager slots during the run, from samples of the engine's capacity."""

    total_slots: int
    mean_busy: float = Field(description="slots running a job, averaged over the samples")
    idle_share: float = Field(description="share of samples with no slot busy")
    samples: int

    @property
    def utilisation(self) -> float:
        return self.mean_busy / self.total_slots if self.total_slots else 0.0

    def line(self) -> str:
        return (
            f"slots: {self.mean_busy:.1f} of {self.total_slots} busy on average "
            f"({self.utilisation:.0%}), none busy in {self.idle_share:.0%} of "
            f"{self.samples} samples"
        )


class SlotBudget:
    """Permits for the run's jobs: as many as the slots the run may use at once."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._sem = threading.BoundedSemaphore(slots)

    def acquire(self, give_up: Callable[[], None], *, poll_s: float = 0.05) -> None:
        """Block until a permit is free; ``give_up`` raises to stop waiting (Ctrl-C, deadline)."""
        while not self._sem.acquire(timeout=poll_s):
            give_up()

    def release(self) -> None:
        self._sem.release()


class SlotSampler:
    """Reads ``capacity`` every ``every_s`` seconds on a thread while the run goes.

    Engines that do not report slots (Confluent Cloud scales compute pools) give no
    samples and so no :class:`SlotUse`.
    """

    def __init__(
        self, capacity: Callable[[], Capacity], *, every_s: float = SAMPLE_EVERY_S
    ) -> None:
        self._capacity = capacity
        self._every_s = every_s
        self._stop = threading.Event()
        self._busy: list[int] = []
        self._total = 0
        self._thread = threading.Thread(target=self._loop, name="ctt-slots", daemon=True)

    def __enter__(self) -> SlotSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set() and self.sample():
            self._stop.wait(self._every_s)  # the sampling period, not a synchronization

    def sample(self) -> bool:
        """One reading; False when the engine has no slots to count (then sampling stops).

        An unreachable engine is skipped: the tests report it themselves.
        """
        try:
            cap = self._capacity()
        except (CttError, OSError):
            return True
        if not cap.total_slots or cap.free_slots is None:
            return False
        self._total = cap.total_slots
        self._busy.append(max(0, cap.total_slots - cap.free_slots))
        return True

    def result(self) -> SlotUse | None:
        if not self._busy:
            return None
        n = len(self._busy)
        return SlotUse(
            total_slots=self._total,
            mean_busy=sum(self._busy) / n,
            idle_share=sum(1 for b in self._busy if b == 0) / n,
            samples=n,
        )

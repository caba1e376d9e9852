"""Restarts of a job the spec expects to survive: tolerated up to a limit, each one timed.

``job_survives: {max_restarts: N, max_recovery_s: S}`` lets Flink restart the job (a lost
TaskManager, a transient error) up to ``N`` times. While the job restarts the runner keeps
going instead of failing the test at the first restart; it fails at once when the job reaches
FAILED (the restart strategy gave up) or restarts more often than ``N``.

**Time to recover**, per restart: from the failure's timestamp in Flink's exception history
(the JobManager's clock, the same host as ctt on the local stack) to the first poll that sees
the job RUNNING with every task RUNNING again (the job consumes again). It includes the
restart strategy's delay and task deployment; it does not wait for the first checkpoint after
the restart, so it is the same event the ``kill_taskmanager`` scenario measures, taken from
Flink's failure time instead of ctt's kill. The poll interval bounds its resolution.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from ctt.engines.base import FlinkEngine, JobFailure, Phase, StatementHandle, Unsupported
from ctt.engines.base import StatementStatus as Status
from ctt.observed.model import Restart

__all__ = ["RestartWatch", "TooManyRestarts"]


class RestartWatch:
    """Follows one job's phases through its restarts (``allowed`` = the spec's ``max_restarts``).

    :meth:`tolerates` is asked on every poll of the job's status; it returns True for a phase
    that is a restart in progress (RESTARTING, tasks deploying again, a restart attempt that
    found no slot) and keeps one :class:`Restart` per recovery: from the first failure Flink
    recorded to the poll that sees the job running (or finished) again. Restart attempts that
    fail again before the job runs (no slot yet while a TaskManager comes back) belong to the
    same recovery (``Restart.failures``). :class:`TooManyRestarts` is raised as soon as the
    job goes down more often than ``allowed``. FAILING and FAILED are never tolerated: the
    runner fails the test at that poll.
    """

    def __init__(self, allowed: int, *, clock: Callable[[], float] = time.time) -> None:
        self.allowed = allowed
        self.records: list[Restart] = []
        self.down = False  # a restart is in progress
        self.timed = True  # False: the engine keeps no failure history
        self.ran = False  # the job ran once: a PENDING phase now is a restart
        self._seen = 0  # entries of the engine's failure history accounted for
        self._clock = clock

    def tolerates(self, st: Status, engine: FlinkEngine, handle: StatementHandle) -> bool:
        if not self.allowed:
            return False
        if st.phase in (Phase.RUNNING, Phase.COMPLETED):
            self.ran = True
            if self.down:
                self.down = False
                self._sync(engine, handle)
                current = self.records[-1] if self.records else None
                if current is not None and current.recovered_at is None:
                    current.recovered_at = self._clock()
                    current.seconds = max(0.0, current.recovered_at - current.failed_at)
            return False
        restarting = st.phase is Phase.DEGRADED or (st.phase is Phase.PENDING and self.ran)
        if restarting:
            self._go_down(engine, handle)
        return restarting

    def lost_slot(self, engine: FlinkEngine, handle: StatementHandle) -> None:
        """A restart attempt found no TaskManager slot yet (Flink tries again)."""
        self._go_down(engine, handle)

    def finish(self, engine: FlinkEngine, handle: StatementHandle) -> None:
        """At the end: a failure not seen while polling (a restart between two polls) is added
        as a recovery of its own, untimed."""
        if self.allowed:
            for failure in self._new(engine, handle):
                self.records.append(_record(failure))
            self._check()

    def _go_down(self, engine: FlinkEngine, handle: StatementHandle) -> None:
        if self.down:
            self._sync(engine, handle)
            return
        self.down = True
        new = self._new(engine, handle)
        if new:
            self.records.append(_record(new[0]))
            self.records[-1].failures = len(new)
        elif self.timed:
            # Flink has not written the failure yet: ctt's clock until it has (_sync).
            self.records.append(Restart(failed_at=self._clock(), failures=0))
        self._check()

    def _sync(self, engine: FlinkEngine, handle: StatementHandle) -> None:
        """Failures recorded since the current recovery began: attempts of that recovery."""
        new = self._new(engine, handle)
        if new and self.records:
            current = self.records[-1]
            if not current.failures:
                current.failed_at = new[0].at
                current.cause = _record(new[0]).cause
            current.failures += len(new)

    def _new(self, engine: FlinkEngine, handle: StatementHandle) -> list[JobFailure]:
        try:
            history: list[JobFailure] = engine.failures(handle)
        except Unsupported:
            self.timed = False
            return []
        new = history[self._seen :]
        self._seen = len(history)
        return new

    def _check(self) -> None:
        if len(self.records) > self.allowed:
            raise TooManyRestarts(len(self.records), self.allowed)

    def metrics(self) -> dict[str, float | int]:
        """``recoveries`` and ``recovery_s_*`` over the timed ones, for results JSON and JUnit."""
        secs = [r.seconds for r in self.records if r.seconds is not None]
        out: dict[str, float | int] = {"recoveries": len(self.records)}
        if secs:
            out |= {
                "recovery_s_min": round(min(secs), 3),
                "recovery_s_median": round(statistics.median(secs), 3),
                "recovery_s_max": round(max(secs), 3),
            }
        return out


def _record(failure: JobFailure) -> Restart:
    return Restart(failed_at=failure.at, cause=failure.cause.summary() if failure.cause else None)


class TooManyRestarts(Exception):
    """The job went down more often than ``job_survives`` allows (the runner fails the test)."""

    def __init__(self, restarts: int, allowed: int) -> None:
        super().__init__(f"restart {restarts}, more than the {allowed} `job_survives` allows")
        self.restarts = restarts
        self.allowed = allowed

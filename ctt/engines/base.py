"""The boundary every Flink engine implements: the local SQL Gateway and Confluent Cloud.

Kept as small as httpx's transport, but complete: the runner needs nothing
else from an engine, so it can run against :class:`ctt.engines.fake.FakeEngine`
in unit tests. Each implementation translates its own library errors at the edge
into one of the categories below:

- :class:`StatementError`: Flink rejected the user's SQL (a config error, exit 2);
- :class:`EngineError`: the engine is unreachable, answered 5xx or something
  unexpected (infrastructure, exit 3); :class:`NoCapacity` is the kind the runner
  retries.

A job that fails at run time is not an exception of the engine: its
:class:`StatementStatus` carries a :class:`FailureCause`, and the runner turns it
into a verdict (:class:`JobFailed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from ctt.errors import ConfigError, CttError, ExitCode, InfraError
from ctt.observed.model import StatementMetrics


class EngineError(InfraError):
    """The engine could not be reached, answered 5xx or did something unexpected."""


class Unsupported(EngineError):
    """The engine cannot offer what was asked (e.g. Confluent Cloud has no late-record count)."""


class NoCapacity(EngineError):
    """The engine has no room for the job (no free TaskManager slot); worth waiting and retrying.

    ``final``: the job failed for good for want of slots (not just a restart attempt that did).
    """

    def __init__(self, message: str, *, hint: str | None = None, final: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.final = final


class StatementError(ConfigError):
    """Flink rejected a statement (SQL error); carries the engine's message and the SQL's line.

    ``sql_line`` counts within the statement; the runner turns it into the
    spec's ``file:line``.
    """

    def __init__(
        self,
        message: str,
        *,
        sql_line: int | None = None,
        hint: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint, file=file, line=line)
        self.sql_line = sql_line


class Phase(StrEnum):
    """Statement phases, named as in Confluent Cloud's statements API."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    DELETING = "DELETING"
    FAILING = "FAILING"
    FAILED = "FAILED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    DEGRADED = "DEGRADED"


TERMINAL_PHASES = frozenset({Phase.COMPLETED, Phase.FAILED, Phase.STOPPED})
FAILED_PHASES = frozenset({Phase.FAILED, Phase.FAILING})


class StatementHandle(BaseModel):
    """What an engine returns for a submitted statement."""

    name: str
    sql: str
    job_id: str | None = None
    engine_ref: dict[str, str] = Field(default_factory=dict, description="engine-private ids")


class FailureCause(BaseModel):
    """Why a job failed: the deepest exception of its cause chain, not the outermost wrapper."""

    exception: str = Field(description="class name of the deepest cause, without package")
    message: str
    operator: str | None = Field(None, description="task/operator the failure happened in")
    infrastructure: bool = Field(
        False, description="the stack broke (lost TaskManager, Kafka unreachable), not the test"
    )
    trace: str | None = Field(None, description="the cause chain, one line per exception")

    def summary(self) -> str:
        where = f" in {self.operator}" if self.operator else ""
        return f"{self.exception}{where}: {self.message}"


class JobFailure(BaseModel):
    """One failure in a job's history (each one Flink restarted the job after, or the last)."""

    at: float = Field(description="when Flink recorded it: Unix seconds, the engine's clock")
    cause: FailureCause | None = None


class StatementStatus(BaseModel):
    phase: Phase
    detail: str | None = None
    job_id: str | None = None
    cause: FailureCause | None = Field(None, description="set when the phase is FAILING/FAILED")


class Capacity(BaseModel):
    """Room for jobs. ``None`` means the engine does not tell (Confluent Cloud scales pools)."""

    free_slots: int | None = None
    total_slots: int | None = None

    @property
    def available(self) -> bool:
        return self.free_slots is None or self.free_slots > 0


class LateCount(BaseModel):
    """Flink's count of late records dropped, read once it can be trusted."""

    dropped: int | None = Field(description="None: no operator of the job counts late records")


class ResultRow(BaseModel):
    """One changelog row: op is +I, -U, +U or -D."""

    op: str = "+I"
    fields: list[Any]


class JobFailed(CttError):
    """A job failed while the test ran: a failed test when the SQL or data caused it (exit 1),
    infrastructure when the stack did (exit 3)."""

    def __init__(self, cause: FailureCause, *, where: str | None = None) -> None:
        super().__init__(
            f"the job failed{f' ({where})' if where else ''}: {cause.summary()}",
            hint="see `ctt stack logs taskmanager`" if cause.infrastructure else None,
        )
        self.cause = cause
        self.exit_code = ExitCode.INFRA if cause.infrastructure else ExitCode.TESTS_FAILED


@runtime_checkable
class FlinkEngine(Protocol):
    """Everything the runner asks of an engine; nothing else crosses this line.

    Every method that watches a job is a single non-blocking probe: the runner
    owns the polling loop, so cancellation, deadlines and "the job failed" are
    checked in one place, on every poll.
    """

    name: str

    def run(self, sql: str, *, deadline_s: float = 120.0) -> list[ResultRow]:
        """Run a statement that finishes by itself (DDL, DESCRIBE, EXPLAIN); its rows."""
        ...

    def submit(
        self, sql: str, *, name: str, properties: dict[str, str] | None = None
    ) -> StatementHandle:
        """Submit one statement; return once the engine accepted it (not when it finished)."""
        ...

    def capacity(self) -> Capacity:
        """Free room for another job, now."""
        ...

    def status(self, handle: StatementHandle) -> StatementStatus:
        """Phase (RUNNING only once every task is deployed) and, if failed, the deepest cause.

        Raises :class:`NoCapacity` when the job failed because it got no resources.
        """
        ...

    def watermark(self, handle: StatementHandle) -> int | None:
        """The job's event-time watermark: the minimum over its sources; None before any."""
        ...

    def settled_late_count(
        self, handle: StatementHandle, *, min_source_records: int | None = None
    ) -> LateCount | None:
        """Late records dropped, once the count can be trusted; None while it cannot yet.

        Trusted = the sources read at least ``min_source_records``, every operator
        read what its inputs wrote and the counters did not move between calls
        at least two metric refreshes apart. Call again after a poll interval.
        Engines that cannot count late records raise :class:`Unsupported`.
        """
        ...

    def results(self, handle: StatementHandle) -> Iterator[ResultRow]:
        """Rows of a query statement, page by page, until the engine says there are no more."""
        ...

    def stop(self, handle: StatementHandle, *, savepoint: bool = False) -> str | None:
        """Stop (cancel) a running statement; return the savepoint path when one was taken."""
        ...

    def delete(self, handle: StatementHandle) -> None:
        """Remove every trace of the statement (idempotent)."""
        ...

    def failures(self, handle: StatementHandle) -> list[JobFailure]:
        """The job's failures so far, oldest first (one per restart, and the final one).

        Engines that keep no failure history raise :class:`Unsupported`.
        """
        ...

    def metrics(self, handle: StatementHandle) -> StatementMetrics: ...

    def close(self) -> None: ...

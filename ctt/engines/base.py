"""The boundary every Flink engine implements: the local SQL Gateway and Confluent Cloud.

Kept as small as httpx's transport: the runner submits statements, watches
them, reads their results and metrics, and stops them. Each implementation
translates its own library errors into :class:`EngineError` at the edge.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from ctt.errors import ExitCode, InfraError


class EngineError(InfraError):
    """The engine could not be reached or did something unexpected."""


class StatementError(EngineError):
    """Flink rejected a statement (SQL error); carries the engine's message and the line."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, sql_line: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
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


class StatementHandle(BaseModel):
    """What an engine returns for a submitted statement."""

    name: str
    sql: str
    job_id: str | None = None
    engine_ref: dict[str, str] = Field(default_factory=dict, description="engine-private ids")


class StatementStatus(BaseModel):
    phase: Phase
    detail: str | None = None
    job_id: str | None = None


class ResultRow(BaseModel):
    """One changelog row: op is +I, -U, +U or -D."""

    op: str = "+I"
    fields: list[Any]


class StatementMetrics(BaseModel):
    """What the runner's performance and late-data validators read."""

    records_in: int | None = None
    records_out: int | None = None
    late_records_dropped: int | None = None
    backpressure_ratio: float | None = None
    checkpoints_completed: int | None = None
    checkpoints_failed: int | None = None
    watermark_ms: int | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class FlinkEngine(Protocol):
    """submit, status, results, stop, delete, metrics: nothing else crosses this line."""

    name: str

    def submit(
        self, sql: str, *, name: str, properties: dict[str, str] | None = None
    ) -> StatementHandle:
        """Submit one statement; return once the engine accepted it (not when it finished)."""
        ...

    def status(self, handle: StatementHandle) -> StatementStatus: ...

    def results(self, handle: StatementHandle) -> Iterator[ResultRow]:
        """Rows of a query statement, page by page, until the engine says there are no more."""
        ...

    def stop(self, handle: StatementHandle, *, savepoint: bool = False) -> str | None:
        """Stop a running statement; return the savepoint path when one was taken."""
        ...

    def delete(self, handle: StatementHandle) -> None:
        """Remove every trace of the statement (idempotent)."""
        ...

    def metrics(self, handle: StatementHandle) -> StatementMetrics: ...

    def close(self) -> None: ...

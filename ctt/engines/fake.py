"""An in-memory, scriptable :class:`FlinkEngine`, so the runner is tested without a JVM.

A :class:`FakeScript` says what the engine does: how often capacity is missing,
when the job fails and why, how the watermark moves, when the late count settles,
which rows the job writes. With a :class:`~ctt.kafka.memory.MemoryKafka` the job
"writes" its rows to the sink topic of each output table (found by the ``.table``
suffix of the run-scoped topic names) once input has arrived.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field

from ctt.engines.base import (
    Capacity,
    EngineError,
    FailureCause,
    JobFailure,
    LateCount,
    NoCapacity,
    Phase,
    ResultRow,
    StatementError,
    StatementHandle,
    StatementStatus,
)
from ctt.kafka.memory import MemoryKafka
from ctt.observed.model import StatementMetrics

_TOPIC = re.compile(r"'topic'\s*=\s*'([^']+)'")


class FakeScript(BaseModel):
    no_free_slot_polls: int = Field(0, description="capacity() reports 0 free slots this often")
    no_capacity_jobs: int = Field(0, description="this many jobs fail with NoCapacity")
    pending_polls: int = Field(1, description="status() says PENDING this often, then RUNNING")
    fail_after_polls: int | None = Field(None, description="status() polls before FAILED")
    failure: FailureCause = FailureCause(exception="RuntimeException", message="boom")
    restart_at_polls: list[int] = Field(
        default_factory=list, description="status() polls after which the job fails and restarts"
    )
    restart_polls: int = Field(2, description="polls each restart lasts (RESTARTING, then PENDING)")
    reject_sql: str | None = Field(None, description="a statement containing this is rejected")
    reject_line: int | None = None
    unreachable: set[str] = Field(default_factory=set, description="methods that raise HTTP 503")
    watermarks: list[int | None] = Field(default_factory=list, description="successive values")
    late_dropped: int | None = 0
    unsettled_polls: int = Field(0, description="settled_late_count() returns None this often")
    outputs: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    complete: bool = Field(True, description="bounded jobs finish once outputs are written")
    columns: dict[str, list[tuple[str, str]]] = Field(
        default_factory=dict, description="DESCRIBE of a CTAS view: table -> (name, type)"
    )


class FakeEngine:
    name = "fake"

    def __init__(self, script: FakeScript, kafka: MemoryKafka | None = None) -> None:
        self.script = script
        self.kafka = kafka
        self.ran: list[str] = []
        self.submitted: list[StatementHandle] = []
        self.deleted: list[str] = []
        self.closed = False
        self.polls = 0
        self._capacity_polls = 0
        self._jobs = 0
        self._watermark_i = 0
        self._settle_polls = 0
        self._emitted = False
        self._stopped: set[str] = set()
        self.history: list[JobFailure] = []

    def _maybe_unreachable(self, method: str) -> None:
        if method in self.script.unreachable:
            raise EngineError(f"fake {method}: HTTP 503: service unavailable")

    def _reject(self, sql: str) -> None:
        if self.script.reject_sql and self.script.reject_sql in sql:
            raise StatementError(
                f"ValidationException: Object '{self.script.reject_sql}' not found",
                sql_line=self.script.reject_line,
            )

    def run(self, sql: str, *, deadline_s: float = 120.0) -> list[ResultRow]:
        self._maybe_unreachable("run")
        self._reject(sql)
        self.ran.append(sql)
        if sql.startswith("DESCRIBE"):
            view = sql.split("`")[1].removeprefix("__ctt_")
            cols = self.script.columns.get(view, [("id", "BIGINT")])
            return [ResultRow(fields=[c, t, True]) for c, t in cols]
        if sql.startswith("EXPLAIN"):
            return [ResultRow(fields=["== Optimized ==\nchangelogMode=[I]"])]
        return []

    def submit(
        self, sql: str, *, name: str, properties: dict[str, str] | None = None
    ) -> StatementHandle:
        self._maybe_unreachable("submit")
        self._reject(sql)
        self._jobs += 1
        handle = StatementHandle(name=name, sql=sql, job_id=f"job{self._jobs}")
        self.submitted.append(handle)
        self.polls = 0
        return handle

    def capacity(self) -> Capacity:
        self._maybe_unreachable("capacity")
        self._capacity_polls += 1
        free = 0 if self._capacity_polls <= self.script.no_free_slot_polls else 1
        return Capacity(free_slots=free, total_slots=1)

    def status(self, handle: StatementHandle) -> StatementStatus:
        self._maybe_unreachable("status")
        self.polls += 1
        if self._jobs <= self.script.no_capacity_jobs:
            raise NoCapacity(f"{handle.job_id} got no TaskManager slot")
        if handle.job_id in self._stopped:
            return StatementStatus(phase=Phase.STOPPED, job_id=handle.job_id)
        fail = self.script.fail_after_polls
        if fail is not None and self.polls > fail:
            cause = self.script.failure
            return StatementStatus(
                phase=Phase.FAILED, job_id=handle.job_id, cause=cause, detail=cause.summary()
            )
        if self.polls <= self.script.pending_polls:
            return StatementStatus(phase=Phase.PENDING, job_id=handle.job_id)
        restarting = self._restarting()
        if restarting is not None:
            return StatementStatus(
                phase=restarting, job_id=handle.job_id, cause=self.script.failure
            )
        if self.kafka is not None and self._has_input():
            self._emit()
            if self.script.complete and self._emitted:
                return StatementStatus(phase=Phase.COMPLETED, job_id=handle.job_id)
        return StatementStatus(phase=Phase.RUNNING, job_id=handle.job_id)

    def _restarting(self) -> Phase | None:
        """RESTARTING (DEGRADED), then PENDING while the job is inside a scripted restart."""
        for i, start in enumerate(sorted(self.script.restart_at_polls)):
            if start < self.polls <= start + self.script.restart_polls:
                if len(self.history) <= i:
                    self.history.append(JobFailure(at=time.time(), cause=self.script.failure))
                return Phase.DEGRADED if self.polls == start + 1 else Phase.PENDING
        return None

    def failures(self, handle: StatementHandle) -> list[JobFailure]:
        self._maybe_unreachable("failures")
        return list(self.history)

    def _has_input(self) -> bool:
        return self.kafka is not None and bool(self.kafka.produced)

    def _emit(self) -> None:
        if self._emitted or self.kafka is None:
            return
        self._emitted = True
        # Only the topics this session's tables name: tests running side by side share Kafka.
        own = set(_TOPIC.findall("\n".join(self.ran)))
        for table, rows in self.script.outputs.items():
            for topic in self.kafka.topics:
                if own and topic not in own:
                    continue
                if topic.endswith("." + table) or topic.endswith("_" + table):
                    for row in rows:
                        self.kafka.append(topic, json.dumps(row).encode())

    def watermark(self, handle: StatementHandle) -> int | None:
        self._maybe_unreachable("watermark")
        marks = self.script.watermarks
        if not marks:
            return None
        value = marks[min(self._watermark_i, len(marks) - 1)]
        self._watermark_i += 1
        return value

    def settled_late_count(
        self, handle: StatementHandle, *, min_source_records: int | None = None
    ) -> LateCount | None:
        self._maybe_unreachable("settled_late_count")
        self._settle_polls += 1
        if self._settle_polls <= self.script.unsettled_polls:
            return None
        return LateCount(dropped=self.script.late_dropped)

    def results(self, handle: StatementHandle) -> Iterator[ResultRow]:
        return iter(())

    def stop(self, handle: StatementHandle, *, savepoint: bool = False) -> str | None:
        self._stopped.add(str(handle.job_id))
        return None

    def delete(self, handle: StatementHandle) -> None:
        self.deleted.append(handle.name)

    def metrics(self, handle: StatementHandle) -> StatementMetrics:
        self._maybe_unreachable("metrics")
        produced = len(self.kafka.produced) if self.kafka else None
        written = sum(len(r) for r in self.script.outputs.values())
        return StatementMetrics(
            records_in=produced,
            records_out=written,
            late_records_dropped=self.script.late_dropped,
            restarts=len(self.history),
        )

    def close(self) -> None:
        self.closed = True

"""The local engine: Flink SQL Gateway for statements, Flink REST for jobs and metrics."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ctt.engines import flink_failures
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
from ctt.engines.flink_checkpoints import checkpoint_stats
from ctt.engines.flink_rest import FlinkRest
from ctt.engines.gateway import SqlGateway
from ctt.observed.model import StatementMetrics, VertexMetrics

_JOB_PHASE = {
    "INITIALIZING": Phase.PENDING,
    "CREATED": Phase.PENDING,
    "RUNNING": Phase.RUNNING,
    "FAILING": Phase.FAILING,
    "RESTARTING": Phase.DEGRADED,
    "FAILED": Phase.FAILED,
    "CANCELLING": Phase.STOPPING,
    "CANCELED": Phase.STOPPED,
    "FINISHED": Phase.COMPLETED,
    "SUSPENDED": Phase.STOPPED,
    "RECONCILING": Phase.PENDING,
}
_OP_PHASE = {
    "RUNNING": Phase.RUNNING,
    "PENDING": Phase.PENDING,
    "INITIALIZED": Phase.PENDING,
    "FINISHED": Phase.COMPLETED,
    "CANCELED": Phase.STOPPED,
    "CLOSED": Phase.STOPPED,
    "ERROR": Phase.FAILED,
    "TIMEOUT": Phase.FAILED,
}
_ENDED = frozenset({"FINISHED", "FAILED", "CANCELED"})
_KIND_OP = {"INSERT": "+I", "UPDATE_BEFORE": "-U", "UPDATE_AFTER": "+U", "DELETE": "-D"}
_NO_WATERMARK = -(2**62)  # Flink reports Long.MIN_VALUE before the first watermark
# Two REST reads this far apart straddle at least two metric refreshes
# (metrics.fetcher.update-interval: 200 ms in the stack's config).
SETTLE_S = 0.45
# Flink serves job details from a cache refreshed every web.refresh-interval (100 ms in the
# stack), so two reads this close give the same answer: a probe that runs right after the
# runner's status check (watermark, late count) reuses that read instead of asking again.
JOB_REUSE_S = 0.05
_RATE_METRICS = ["numRecordsInPerSecond", "numRecordsOutPerSecond"]

# Session defaults that make tests deterministic and quick on a laptop-sized stack.
SESSION_DEFAULTS = {
    "execution.runtime-mode": "streaming",
    "table.local-time-zone": "UTC",
    "pipeline.auto-watermark-interval": "50 ms",
    "execution.buffer-timeout.interval": "5 ms",
    "parallelism.default": "1",
    "table.exec.resource.default-parallelism": "1",
}


class LocalEngine:
    """One gateway session per engine: a test's tables live and die with it."""

    name = "local"

    def __init__(
        self,
        gateway_url: str,
        rest_url: str,
        *,
        properties: dict[str, str] | None = None,
        taskmanager_log: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        gateway_headers: dict[str, str] | None = None,
        rest_headers: dict[str, str] | None = None,
        session_name: str | None = None,
        elastic_slots: bool = False,
    ) -> None:
        """``elastic_slots``: the cluster starts TaskManagers on demand (native Kubernetes), so
        a job is submitted without waiting for a free slot."""
        self._elastic = elastic_slots
        self.gateway = SqlGateway(
            gateway_url,
            properties={**SESSION_DEFAULTS, **(properties or {})},
            headers=gateway_headers,
            session_name=session_name,
        )
        self.rest = FlinkRest(rest_url, headers=rest_headers)
        self._tm_log = taskmanager_log
        self._clock = clock
        self._metric_names: dict[tuple[str, str], list[str]] = {}
        self._causes: dict[str, FailureCause] = {}
        self._settle: dict[str, tuple[tuple[Any, ...], float]] = {}
        self._jobs: dict[str, tuple[float, dict[str, Any]]] = {}

    def _job(self, job_id: str, *, reuse: bool = True) -> dict[str, Any]:
        """The job's details; with ``reuse``, the last read if it is under JOB_REUSE_S old."""
        now = self._clock()
        last = self._jobs.get(job_id)
        if reuse and last is not None and now - last[0] < JOB_REUSE_S:
            return last[1]
        job = self.rest.job(job_id)
        self._jobs[job_id] = (now, job)
        return job

    # -- statements ---------------------------------------------------------------------------
    def run(self, sql: str, *, deadline_s: float = 120.0) -> list[ResultRow]:
        """Run a statement that finishes by itself (DDL, DESCRIBE, EXPLAIN, SET)."""
        page = self.gateway.execute(sql, deadline_s=deadline_s)
        return [ResultRow(op=_KIND_OP.get(k, "+I"), fields=f) for k, f in page.rows]

    def submit(
        self, sql: str, *, name: str, properties: dict[str, str] | None = None
    ) -> StatementHandle:
        config = {"pipeline.name": name, **(properties or {})}
        op = self.gateway.submit(sql, config)
        handle = StatementHandle(name=name, sql=sql, engine_ref={"operation": op})
        # INSERT-like statements return their job id on the first page; queries stream rows.
        page = next(self.gateway.pages(op, deadline_s=120.0), None)
        if page is not None and page.job_id:
            handle.job_id = page.job_id
        elif page is not None:
            handle.engine_ref["first_page"] = page.model_dump_json()
        return handle

    def capacity(self) -> Capacity:
        if self._elastic:
            return Capacity()  # unknown: the cluster makes room when a job asks
        overview = self.rest.overview()
        return Capacity(
            free_slots=int(overview.get("slots-available", 0)),
            total_slots=int(overview.get("slots-total", 0)),
        )

    def status(self, handle: StatementHandle) -> StatementStatus:
        if not handle.job_id:
            op_state = self.gateway.status(handle.engine_ref["operation"])
            return StatementStatus(phase=_OP_PHASE.get(op_state, Phase.PENDING))
        job = self._job(handle.job_id, reuse=False)
        state = str(job.get("state", "UNKNOWN"))
        phase = _JOB_PHASE.get(state)
        if phase is None:
            raise EngineError(f"job {handle.job_id} is in unknown state {state!r}")
        if phase is Phase.RUNNING and not all(
            v.get("status") in ("RUNNING", "FINISHED") for v in job.get("vertices", [])
        ):
            phase = Phase.PENDING  # tasks still deploying: the job cannot consume yet
        cause = None
        if phase in (Phase.FAILED, Phase.FAILING, Phase.DEGRADED):
            cause = self._cause(handle.job_id, final=phase is Phase.FAILED)
        detail = cause.summary() if cause else None
        return StatementStatus(phase=phase, detail=detail, job_id=handle.job_id, cause=cause)

    def running_tasks(self, handle: StatementHandle) -> bool:
        """Every task deployed (the job can consume input); kept for bench/runner.py."""
        return self.status(handle).phase in (Phase.RUNNING, Phase.COMPLETED)

    def _cause(self, job_id: str, *, final: bool) -> FailureCause | None:
        if job_id in self._causes:
            return self._causes[job_id]
        entries = self.rest.exception_history(job_id)
        if flink_failures.no_capacity(entries):
            raise NoCapacity(f"job {job_id} got no TaskManager slot", final=final)
        cause = flink_failures.deepest(entries)
        if cause is None:
            return None
        if cause.message == "(no message)" and self._tm_log is not None:
            better = flink_failures.helpful_message(self._tm_log, cause)
            if better:
                cause.message = better
        if final:
            self._causes[job_id] = cause
        return cause

    def watermark(self, handle: StatementHandle) -> int | None:
        """Min over source vertices of what each emits (max over its chained operators)."""
        if not handle.job_id:
            return None
        job = self._job(handle.job_id)
        marks: list[int] = []
        for vid in _source_vertices(job):
            names = self._names(handle.job_id, vid, ".currentOutputWatermark")
            if not names:
                return None
            per_subtask: dict[str, int] = {}
            for n, value in self.rest.vertex_metrics(handle.job_id, vid, names).items():
                sub = n.split(".", 1)[0]
                mark = _int(value)
                per_subtask[sub] = max(per_subtask.get(sub, _NO_WATERMARK), mark)
            if not per_subtask:
                return None
            marks.append(min(per_subtask.values()))
        if not marks or min(marks) <= _NO_WATERMARK:
            return None
        return min(marks)

    def settled_late_count(
        self, handle: StatementHandle, *, min_source_records: int | None = None
    ) -> LateCount | None:
        if not handle.job_id:
            return LateCount(dropped=None)
        job_id = handle.job_id
        job = self._job(job_id)
        vertices = job.get("vertices", [])
        writes = {v["id"]: _int(v.get("metrics", {}).get("write-records")) for v in vertices}
        reads = {v["id"]: _int(v.get("metrics", {}).get("read-records")) for v in vertices}
        inputs = _inputs(job)
        caught_up = all(
            reads[v] >= sum(writes.get(i, 0) for i in ins) for v, ins in inputs.items() if ins
        )
        late, seen = self._sum(job_id, vertices, ".numLateRecordsDropped")
        if min_source_records is not None:
            read, _ = self._sum(job_id, vertices, ".numRecordsIn", source_only=True)
            caught_up = caught_up and read >= min_source_records
        state = (tuple(sorted(writes.items())), tuple(sorted(reads.items())), late)
        now = self._clock()
        prev = self._settle.get(job_id)
        if not caught_up or prev is None or prev[0] != state:
            self._settle[job_id] = (state, now)
            return None
        if now - prev[1] < SETTLE_S:
            return None
        return LateCount(dropped=late if seen else None)

    def _sum(
        self, job_id: str, vertices: list[dict[str, Any]], suffix: str, *, source_only: bool = False
    ) -> tuple[int, bool]:
        """Sum of one operator metric over every vertex; whether any operator has it."""
        total, seen = 0, False
        for v in vertices:
            names = [
                n
                for n in self._names(job_id, v["id"], suffix)
                if not source_only or ".Source__" in n
            ]
            if names:
                seen = True
                total += sum(
                    _int(x) for x in self.rest.vertex_metrics(job_id, v["id"], names).values()
                )
        return total, seen

    def _names(self, job_id: str, vertex_id: str, suffix: str) -> list[str]:
        """A vertex's operator metrics named ``*.suffix`` (``<subtask>.<operator>.<metric>``).

        Flink lists a vertex's metrics as its tasks register them: task metrics first, an
        operator's as it is set up, a window operator's ``numLateRecordsDropped`` only when it
        opens. A list cached while partial hid a metric for the rest of the job (a watermark
        barrier that never saw the watermark and waited out the test's timeout), so the list
        is fetched again as long as no cached name has the suffix.
        """
        key = (job_id, vertex_id)

        def matching(names: list[str]) -> list[str]:
            return [n for n in names if n.endswith(suffix) and n.count(".") >= 2]

        found = matching(self._metric_names.get(key, []))
        if not found:
            names = list(self.rest.vertex_metrics(job_id, vertex_id))
            if names:
                self._metric_names[key] = names
            found = matching(names)
        return found

    def results(self, handle: StatementHandle) -> Iterator[ResultRow]:
        for page in self.gateway.pages(handle.engine_ref["operation"]):
            for kind, fields in page.rows:
                yield ResultRow(op=_KIND_OP.get(kind, "+I"), fields=fields)

    def stop(self, handle: StatementHandle, *, savepoint: bool = False) -> str | None:
        if not handle.job_id:
            self.gateway.cancel(handle.engine_ref["operation"])
            return None
        if savepoint:
            return self.rest.stop_with_savepoint(handle.job_id)
        self.rest.cancel(handle.job_id)
        return None

    def delete(self, handle: StatementHandle) -> None:
        if handle.job_id:
            try:
                if self.rest.state(handle.job_id) not in ("FINISHED", "FAILED", "CANCELED"):
                    self.rest.cancel(handle.job_id)
            except EngineError:
                pass
            self._settle.pop(handle.job_id, None)
            self._jobs.pop(handle.job_id, None)
        op = handle.engine_ref.get("operation")
        if op:
            with contextlib.suppress(EngineError, StatementError):
                self.gateway.close_operation(op)

    def metrics(self, handle: StatementHandle) -> StatementMetrics:
        """A snapshot; records in/out are summed over every source / sink of the job."""
        if not handle.job_id:
            return StatementMetrics()
        job_id = handle.job_id
        job = self._job(job_id)
        vertices = job.get("vertices", [])
        late, late_seen = self._sum(job_id, vertices, ".numLateRecordsDropped")
        # Records in/out from the job's own task I/O counters, not from operator metrics: once a
        # bounded job has finished, the metric fetcher no longer reaches its tasks and serves
        # the last values it fetched (a two-source join reported 4 of its 7 inputs), while the
        # job details keep each finished task's final counts.
        inputs = _inputs(job)
        fed = {i for ins in inputs.values() for i in ins}
        io = {str(v["id"]): v.get("metrics", {}) for v in vertices}
        sources = [v for v, ins in inputs.items() if not ins and v in io]
        sinks = [v for v in inputs if v not in fed and v in io]
        cps = checkpoint_stats(self.rest.checkpoints(job_id))
        vertex_stats = [self._vertex_stats(job_id, v) for v in vertices]
        return StatementMetrics(
            records_in=sum(_int(io[v].get("read-records")) for v in sources) if sources else None,
            records_out=sum(_int(io[v].get("write-records")) for v in sinks) if sinks else None,
            late_records_dropped=late if late_seen else None,
            checkpoints_completed=cps.completed,
            checkpoints_failed=cps.failed,
            checkpoints=cps,
            restarts=self.restarts(job_id, str(job.get("state", ""))),
            vertices=vertex_stats,
            backpressure_ratio=max(
                (v.backpressure_ratio for v in vertex_stats if v.backpressure_ratio is not None),
                default=None,
            ),
        )

    def _vertex_stats(self, job_id: str, vertex: dict[str, Any]) -> VertexMetrics:
        """Rates and back pressure of a running vertex; None where Flink no longer serves them."""
        out = VertexMetrics(name=str(vertex.get("name", vertex["id"]))[:120])
        if vertex.get("status") != "RUNNING":
            return out
        with contextlib.suppress(EngineError):
            sums = self.rest.subtask_sums(job_id, vertex["id"], _RATE_METRICS)
            out.records_in_per_s = sums.get("numRecordsInPerSecond")
            out.records_out_per_s = sums.get("numRecordsOutPerSecond")
        with contextlib.suppress(EngineError):
            subtasks = self.rest.backpressure(job_id, vertex["id"]).get("subtasks", [])
            if subtasks:
                out.backpressure_ratio = max(float(t.get("ratio", 0.0)) for t in subtasks)
                out.busy_ratio = max(float(t.get("busyRatio", 0.0)) for t in subtasks)
        return out

    def failures(self, handle: StatementHandle) -> list[JobFailure]:
        """From the job's exception history: each failure Flink restarted it after, or gave up."""
        if not handle.job_id:
            return []
        return flink_failures.history(self.rest.exception_history(handle.job_id))

    def restarts(self, job_id: str, state: str) -> int:
        """How often Flink restarted the job.

        While the job runs: its ``numRestarts``, which grows when a restart happens (a failure is
        in the exception history a moment before: counting that would call a job recovered
        that has not restarted yet). Once it ended: the larger of ``numRestarts`` and one per
        failure in its exception history, the final one of a FAILED job excepted (that failure
        ended it); a bounded job that restarted 10 times and then FINISHED reported
        ``numRestarts`` 0 (Flink 2.2.1). The history keeps the last 16 failures
        (``web.exception-history-size``)."""
        counted: int | None = None
        with contextlib.suppress(EngineError):
            value = self.rest.job_metrics(job_id, ["numRestarts"]).get("numRestarts")
            if value not in (None, ""):
                counted = _int(value)
        if counted is not None and state not in _ENDED:
            return counted
        failures = len(self.rest.exception_history(job_id))
        seen = max(0, failures - 1) if state == "FAILED" else failures
        return max(counted or 0, seen)

    def close(self) -> None:
        self.gateway.close()
        self.rest.close()


def _int(value: Any) -> int:
    try:
        return int(float(value or 0))
    except (TypeError, ValueError):
        return 0


def _inputs(job: dict[str, Any]) -> dict[str, list[str]]:
    """Vertex id -> the vertex ids feeding it, from the job's plan."""
    return {
        str(n["id"]): [str(i["id"]) for i in n.get("inputs", [])]
        for n in job.get("plan", {}).get("nodes", [])
    }


def _source_vertices(job: dict[str, Any]) -> list[str]:
    return [v for v, ins in _inputs(job).items() if not ins]

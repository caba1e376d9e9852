"""The local engine: Flink SQL Gateway for statements, Flink REST for jobs and metrics."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from ctt.engines.base import (
    EngineError,
    Phase,
    ResultRow,
    StatementHandle,
    StatementMetrics,
    StatementStatus,
)
from ctt.engines.flink_rest import FlinkRest
from ctt.engines.gateway import Page, SqlGateway

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
_KIND_OP = {"INSERT": "+I", "UPDATE_BEFORE": "-U", "UPDATE_AFTER": "+U", "DELETE": "-D"}

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
        self, gateway_url: str, rest_url: str, *, properties: dict[str, str] | None = None
    ) -> None:
        self.gateway = SqlGateway(
            gateway_url, properties={**SESSION_DEFAULTS, **(properties or {})}
        )
        self.rest = FlinkRest(rest_url)

    # -- synchronous helpers the local planner uses -------------------------------------------
    def run(self, sql: str, *, deadline_s: float = 120.0) -> Page:
        """Run a statement that finishes by itself (DDL, DESCRIBE, EXPLAIN, SET)."""
        return self.gateway.execute(sql, deadline_s=deadline_s)

    # -- FlinkEngine ----------------------------------------------------------------------------
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

    def status(self, handle: StatementHandle) -> StatementStatus:
        if handle.job_id:
            state = self.rest.state(handle.job_id)
            phase = _JOB_PHASE.get(state)
            if phase is None:
                raise EngineError(f"job {handle.job_id} is in unknown state {state!r}")
            detail = None
            if phase in (Phase.FAILED, Phase.FAILING, Phase.DEGRADED):
                detail = "; ".join(self.rest.exceptions(handle.job_id)[:2]) or None
            return StatementStatus(phase=phase, detail=detail, job_id=handle.job_id)
        op_state = self.gateway.status(handle.engine_ref["operation"])
        phase = {
            "RUNNING": Phase.RUNNING,
            "PENDING": Phase.PENDING,
            "INITIALIZED": Phase.PENDING,
            "FINISHED": Phase.COMPLETED,
            "CANCELED": Phase.STOPPED,
            "CLOSED": Phase.STOPPED,
            "ERROR": Phase.FAILED,
            "TIMEOUT": Phase.FAILED,
        }.get(op_state, Phase.PENDING)
        return StatementStatus(phase=phase)

    def results(self, handle: StatementHandle) -> Iterator[ResultRow]:
        for page in self.gateway.pages(handle.engine_ref["operation"]):
            for kind, fields in page.rows:
                yield ResultRow(op=_KIND_OP.get(kind, "+I"), fields=fields)

    def wait(
        self, handle: StatementHandle, phases: set[Phase], *, deadline_s: float
    ) -> StatementStatus:
        """Poll until the statement reaches one of ``phases`` or a terminal one, or the deadline."""
        end = time.monotonic() + deadline_s
        while True:
            st = self.status(handle)
            if st.phase in phases or st.phase in (Phase.FAILED, Phase.STOPPED, Phase.COMPLETED):
                return st
            if time.monotonic() > end:
                return st
            time.sleep(0.1)

    def running_tasks(self, handle: StatementHandle) -> bool:
        """Every vertex of the job has its tasks RUNNING (the job can consume input)."""
        if not handle.job_id:
            return False
        vertices = self.rest.vertices(handle.job_id)
        return bool(vertices) and all(v.get("status") in ("RUNNING", "FINISHED") for v in vertices)

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
        op = handle.engine_ref.get("operation")
        if op:
            with contextlib.suppress(EngineError):
                self.gateway.close_operation(op)

    def metrics(self, handle: StatementHandle) -> StatementMetrics:
        if not handle.job_id:
            return StatementMetrics()
        job = handle.job_id
        raw: dict[str, object] = {}
        late = 0
        late_seen = False
        rin = rout = None
        vertices = self.rest.vertices(job)
        for i, v in enumerate(vertices):
            available = self.rest.vertex_metrics(job, v["id"])
            wanted = [m for m in available if m.endswith("numLateRecordsDropped")]
            if wanted:
                values = self.rest.vertex_metrics(job, v["id"], wanted)
                for k, val in values.items():
                    raw[f"{v['name'][:40]}.{k}"] = val
                    late += int(float(val or 0))
                    late_seen = True
            metrics = v.get("metrics", {})
            if i == 0:
                rin = metrics.get("read-records")
            if i == len(vertices) - 1:
                rout = metrics.get("write-records")
        cps = self.rest.checkpoints(job).get("counts", {})
        return StatementMetrics(
            records_in=rin,
            records_out=rout,
            late_records_dropped=late if late_seen else None,
            checkpoints_completed=cps.get("completed"),
            checkpoints_failed=cps.get("failed"),
            raw=raw,
        )

    def close(self) -> None:
        self.gateway.close()
        self.rest.close()

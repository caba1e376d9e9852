"""The one Flink test runner: spec -> topics -> statements -> data -> collect -> validate -> cleanup.

`ctt run` and the continuous-testing suites both come through here. Every
test gets its own engine session, run-scoped topics and job; cleanup runs on
success, failure, timeout and Ctrl-C alike.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from ctt.config.spec import Completion, LoadedTest, OutputMode, RowOrder
from ctt.datagen.record import GeneratedRecord
from ctt.engines.base import EngineError, Phase, StatementHandle
from ctt.engines.local import LocalEngine
from ctt.errors import ConfigError, CttError, InfraError
from ctt.flinktest import inputs as inputs_mod
from ctt.flinktest.outputs import UndecodableOutput, decode
from ctt.flinktest.plan import LocalPlanner, OutputPlan, sql_source, targets
from ctt.flinktest.results import RunReport, TestResult
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.consume import TopicReader
from ctt.kafka.naming import new_run_id, test_scope
from ctt.kafka.produce import produce
from ctt.report.model import ErrorKind, Status
from ctt.sql import statements
from ctt.stack.state import StackState
from ctt.validate import registry
from ctt.validate.base import Column, InputRecord, OutputRow, TableOutput, ValidationContext

_SLOT_ATTEMPTS = 5
_SEGMENT_PRODUCER = {
    "enable.idempotence": False,
    "acks": "all",
    "max.in.flight.requests.per.connection": 1,
}


def _flink_watermark(
    rec: GeneratedRecord, seen: dict[int, int], parts: set[int], delay_ms: int | None
) -> int | None:
    """The watermark to wait for before sending a late record, or None for no wait.

    Flink's source watermark is the minimum over its partitions, and a partition that
    has not delivered anything yet holds it back entirely: so wait only once every
    partition with data has delivered some, and only for what that minimum can reach.
    """
    if not rec.late or rec.watermark_ms is None:
        return None
    if delay_ms is None or len(parts) <= 1:
        return rec.watermark_ms
    if not parts <= set(seen):
        return None
    return min(rec.watermark_ms, min(seen[p] for p in parts) - delay_ms - 1)


class _NoSlot(Exception):
    """The job could not get a TaskManager slot."""


class Cancelled(CttError):
    """The run was interrupted (Ctrl-C); the test cleaned up after itself."""


class TestTimeout(InfraError):
    __test__ = False


Listener = Callable[[str, str], None]  # (test id, phase text)


class _Ctx:
    """Per-test bookkeeping the cleanup needs, filled as the test goes."""

    def __init__(self) -> None:
        self.engine: LocalEngine | None = None
        self.handle: StatementHandle | None = None
        self.reader: TopicReader | None = None
        self.topics: list[str] = []
        self.late_dropped: int | None = None  # settled before the last record, if late data
        self.log: list[str] = []
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        self.log.append(f"[{time.monotonic() - self.started:6.2f}s] {text}")


class FlinkTestRunner:
    def __init__(
        self,
        stack: StackState,
        *,
        run_id: str | None = None,
        parallel: int | None = None,
        listener: Listener | None = None,
        keep: bool = False,
    ) -> None:
        self.stack = stack
        self.run_id = run_id or new_run_id()
        self.parallel = max(1, parallel or stack.slots)
        self.listener = listener or (lambda _t, _p: None)
        self.keep = keep
        self.cancel = threading.Event()
        self.admin = TopicAdmin(stack.bootstrap_servers)

    # -- the run ----------------------------------------------------------------------------
    def run(
        self, tests: list[LoadedTest], on_result: Callable[[TestResult], None] | None = None
    ) -> RunReport:
        report = RunReport(run_id=self.run_id, engine="local", started_at=datetime.now(UTC))
        t0 = time.monotonic()
        results: dict[int, TestResult] = {}
        with ThreadPoolExecutor(
            max_workers=min(self.parallel, max(1, len(tests))), thread_name_prefix="ctt-test"
        ) as pool:
            futures = {pool.submit(self.run_one, lt): i for i, lt in enumerate(tests)}
            try:
                for fut, i in futures.items():
                    results[i] = fut.result()
                    if on_result:
                        on_result(results[i])
            except KeyboardInterrupt:
                self.cancel.set()
                for fut, i in futures.items():
                    if i not in results:
                        results[i] = fut.result()  # each test cleans up and reports itself
                        if on_result:
                            on_result(results[i])
        report.tests = [results[i] for i in sorted(results)]
        report.finish(time.monotonic() - t0)
        return report

    def run_one(self, lt: LoadedTest) -> TestResult:
        test = lt.test
        base = {"name": test.name, "file": str(lt.file), "line": lt.line, "run_id": self.run_id}
        if test.skip:
            return TestResult(**base, status=Status.SKIPPED, message=test.skip)
        if self.cancel.is_set():
            return TestResult(
                **base,
                status=Status.ERROR,
                error_kind=ErrorKind.INTERRUPTED,
                message="not started: interrupted",
            )
        ctx = _Ctx()
        result: TestResult
        try:
            result = self._execute(lt, ctx, base)
        except ConfigError as exc:
            result = TestResult(
                **base, status=Status.ERROR, error_kind=ErrorKind.CONFIG, message=str(exc)
            )
        except TestTimeout as exc:
            result = TestResult(
                **base, status=Status.ERROR, error_kind=ErrorKind.TIMEOUT, message=str(exc)
            )
        except Cancelled:
            result = TestResult(
                **base, status=Status.ERROR, error_kind=ErrorKind.INTERRUPTED, message="interrupted"
            )
        except CttError as exc:
            kind = ErrorKind.INFRA if isinstance(exc, InfraError) else ErrorKind.CONFIG
            result = TestResult(**base, status=Status.ERROR, error_kind=kind, message=str(exc))
        except Exception as exc:  # a bug in ctt must not hide other tests' results
            result = TestResult(
                **base,
                status=Status.ERROR,
                error_kind=ErrorKind.INFRA,
                message=f"internal error: {type(exc).__name__}: {exc}",
            )
        finally:
            self._cleanup(ctx)
        result.duration_s = time.monotonic() - ctx.started
        result.log = ctx.log
        self.listener(lt.id, result.status.value)
        return result

    # -- one test ------------------------------------------------------------------------------
    def _phase(self, lt: LoadedTest, ctx: _Ctx, text: str) -> None:
        if self.cancel.is_set():
            raise Cancelled("interrupted")
        ctx.note(text)
        self.listener(lt.id, text)

    def _execute(self, lt: LoadedTest, ctx: _Ctx, base: dict[str, Any]) -> TestResult:
        test = lt.test
        deadline = time.monotonic() + test.timeout
        self._phase(lt, ctx, "rendering SQL")
        src = sql_source(lt)
        stmts = statements.parse(src.text)
        outs = set(targets(stmts))
        sources = {n for n in test.tables if n not in outs}
        try:
            inputs = inputs_mod.build(test, sources)
        except ValueError as exc:
            raise ConfigError(str(exc), file=str(lt.file), line=lt.line) from None

        self._phase(lt, ctx, "creating session and tables")
        ctx.engine = LocalEngine(self.stack.gateway_url, self.stack.flink_rest_url)
        planner = LocalPlanner(
            ctx.engine, run_id=self.run_id, bootstrap=self.stack.bootstrap_servers
        )
        # Topics first: the tables' DDL does not create them.
        scope = test_scope(str(lt.file), test.name)
        topic_of = planner.topic_names(test, outs, scope=scope)
        partitions = {
            topic_of[n]: test.tables[n].partitions if n in test.tables else 1 for n in topic_of
        }
        ctx.topics = list(partitions)
        self.admin.create(partitions)
        inserts, plans, settings = planner.prepare(test, src, stmts, inputs, topic_of)

        self._phase(lt, ctx, "starting job")
        reader = ctx.reader = TopicReader(self.stack.bootstrap_servers, [p.topic for p in plans])
        sql = (
            inserts[0]
            if len(inserts) == 1
            else "EXECUTE STATEMENT SET BEGIN\n" + ";\n".join(inserts) + ";\nEND"
        )
        job_name = f"ctt-{self.run_id}-{scope}"
        for attempt in range(1, _SLOT_ATTEMPTS + 1):
            self._await_free_slot(lt, ctx, deadline)
            try:
                ctx.handle = ctx.engine.submit(sql, name=job_name, properties=settings)
            except EngineError as exc:
                raise ConfigError(
                    f"Flink rejected the job: {exc.message}", file=src.file, line=src.first_line
                ) from None
            try:
                self._await_running(lt, ctx, deadline)
                break
            except _NoSlot:
                # Another run took the slot between our check and the job's request: try again.
                ctx.note(f"no free slot for the job (attempt {attempt}); waiting for one")
                ctx.engine.delete(ctx.handle)
                ctx.handle = None
        else:
            raise InfraError(
                f"no TaskManager slot became free for {test.name} after {_SLOT_ATTEMPTS} attempts",
                hint="run fewer tests at once (-p) or start the stack with more --slots",
            )
        reader.start()

        self._phase(lt, ctx, "producing input")
        produced = self._produce(lt, ctx, inputs, topic_of, deadline)

        self._phase(lt, ctx, "collecting output")
        records = self._collect(lt, ctx, reader, plans, deadline)
        metrics = ctx.engine.metrics(ctx.handle)
        if ctx.late_dropped is not None:  # the final REST snapshot may miss the last drops
            metrics.late_records_dropped = max(ctx.late_dropped, metrics.late_records_dropped or 0)

        self._phase(lt, ctx, "validating")
        vctx = self._validation_context(lt, plans, records, produced, metrics, src.text)
        outcomes = []
        validations = test.validation or (
            [{"rows_match": True}]
            if any(e.rows is not None for e in test.expected.values())
            else []
        )
        if not validations:
            validations = (
                [{"row_count": sum(e.count or 0 for e in test.expected.values())}]
                if test.expected
                else []
            )
        for item in validations:
            ((name, raw),) = item.items()
            v = registry.get(name)
            outcomes.append(v.check(v.parse(raw), vctx))
        failed = [o for o in outcomes if not o.passed]
        status = Status.FAILED if failed else Status.PASSED
        message: str | None
        if not outcomes:
            status, message = (
                Status.FAILED,
                "nothing to validate: add `expected:` rows or `validation:`",
            )
        else:
            message = "; ".join(f"{o.name}: {o.summary}" for o in failed) or None
        return TestResult(
            **base,
            status=status,
            message=message,
            outcomes=outcomes,
            job_id=ctx.handle.job_id if ctx.handle else None,
            records_in=sum(len(p) for p in produced.values()),
            records_out={t: len(r) for t, r in records.items()},
            metrics={
                "late_records_dropped": metrics.late_records_dropped,
                "records_in": metrics.records_in,
                "records_out": metrics.records_out,
            },
        )

    def _await_running(self, lt: LoadedTest, ctx: _Ctx, deadline: float) -> None:
        assert ctx.engine and ctx.handle
        while True:
            st = ctx.engine.status(ctx.handle)
            if st.phase in (Phase.FAILED, Phase.FAILING):
                if st.detail and "NoResourceAvailableException" in st.detail:
                    raise _NoSlot(st.detail)
                raise ConfigError(
                    f"the job failed to start: {st.detail or 'see `ctt stack logs jobmanager`'}",
                    file=str(lt.file),
                    line=lt.line,
                )
            if st.phase is Phase.RUNNING and ctx.engine.running_tasks(ctx.handle):
                return
            if st.phase is Phase.COMPLETED:
                return
            self._check_deadline(lt, ctx, deadline, "waiting for the job to run")
            time.sleep(0.1)

    def _await_free_slot(self, lt: LoadedTest, ctx: _Ctx, deadline: float) -> None:
        """The cluster is shared (parallel tests, parallel suites): wait until a slot is free."""
        assert ctx.engine
        while int(ctx.engine.rest.overview().get("slots-available", 0)) < 1:
            self._check_deadline(lt, ctx, deadline, "waiting for a free TaskManager slot")
            time.sleep(0.2)

    def _check_deadline(self, lt: LoadedTest, ctx: _Ctx, deadline: float, what: str) -> None:
        if self.cancel.is_set():
            raise Cancelled("interrupted")
        if time.monotonic() > deadline:
            raise TestTimeout(
                f"timed out after {lt.test.timeout:.0f}s {what}",
                hint="raise `timeout:` in the spec",
            )

    def _produce(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        inputs: dict[str, inputs_mod.TableInput],
        topic_of: dict[str, str],
        deadline: float,
    ) -> dict[str, list[InputRecord]]:
        """Send every table's records; a late record waits until Flink's watermark has passed it."""
        test = lt.test
        bounded = test.completion is Completion.BOUNDED
        out: dict[str, list[InputRecord]] = {}
        for name, inp in inputs.items():
            sent: list[InputRecord] = []

            def on_sent(
                rec: GeneratedRecord,
                at: float,
                name: str = name,
                inp: inputs_mod.TableInput = inp,
                sent: list[InputRecord] = sent,
            ) -> None:
                key = None
                sent.append(
                    InputRecord(
                        table=name,
                        row=rec.fields,
                        key=key,
                        produced_at=at,
                        event_time_ms=rec.event_time_ms,
                        watermark_delay_ms=inp.watermark_delay_ms,
                        late=rec.late,
                        malformed=rec.malformed.value if rec.malformed else None,
                        closing=rec.closing,
                        partition=rec.partition,
                    )
                )

            records = [r for r in inp.records if not (bounded and r.closing)]
            # With late records, the last record is held back until every operator has
            # processed the rest: Flink's late-record count is read from REST metrics, which
            # stop updating once the (bounded) job finishes.
            hold = (
                records.pop()
                if bounded and len(records) > 1 and any(r.late for r in records)
                else None
            )
            segments = self._segments(records, test.produce_rate)
            # Many small sends (watermark barriers, paced rows): an idempotent producer costs
            # ~0.5 s to start (PID handshake), so these use acks=all with one request in flight,
            # which keeps order and loses nothing; the read-back would show any duplicate.
            conf = _SEGMENT_PRODUCER if len(segments) > 1 or hold is not None else None
            parts = {r.partition for r in records} | ({hold.partition} if hold else set())
            seen: dict[int, int] = {}  # partition -> highest event time sent
            for segment in segments:
                self._check_deadline(lt, ctx, deadline, "producing input")
                target = _flink_watermark(segment[0], seen, parts, inp.watermark_delay_ms)
                if target is not None:
                    self._watermark_barrier(lt, ctx, target, deadline)
                produce(
                    segment,
                    topic_of[name],
                    self.stack.bootstrap_servers,
                    on_sent=on_sent,
                    producer_config=conf,
                )
                for r in segment:
                    seen[r.partition] = max(seen.get(r.partition, r.event_time_ms), r.event_time_ms)
            if hold is not None:
                target = _flink_watermark(hold, seen, parts, inp.watermark_delay_ms)
                if target is not None:
                    self._watermark_barrier(lt, ctx, target, deadline)
                ctx.late_dropped = self._settled_late_count(lt, ctx, deadline)
                produce(
                    [hold],
                    topic_of[name],
                    self.stack.bootstrap_servers,
                    on_sent=on_sent,
                    producer_config=conf,
                )
            out[name] = sent
            ctx.note(f"produced {len(sent)} records to {topic_of[name]}")
        return out

    @staticmethod
    def _segments(
        records: list[GeneratedRecord], rate: float | None
    ) -> list[list[GeneratedRecord]]:
        """Split before every late record (it needs a watermark barrier) and, with a rate, per record."""
        segs: list[list[GeneratedRecord]] = []
        for rec in records:
            if not segs or rec.late or rate:
                segs.append([rec])
            else:
                segs[-1].append(rec)
        return segs

    def _watermark_barrier(
        self, lt: LoadedTest, ctx: _Ctx, watermark_ms: int, deadline: float
    ) -> None:
        """Wait until the job's sources report a watermark >= ``watermark_ms``: the next record is then late for sure."""
        assert ctx.engine and ctx.handle and ctx.handle.job_id
        rest, job = ctx.engine.rest, ctx.handle.job_id
        vertices = rest.vertices(job)
        while True:
            marks = []
            for v in vertices:
                marks += [
                    w for k, w in rest.watermarks(job, v["id"]).items() if k.endswith("Watermark")
                ]
            if marks and max(marks) >= watermark_ms:
                return
            self._check_deadline(
                lt, ctx, deadline, f"waiting for the watermark to reach {watermark_ms}"
            )
            time.sleep(0.05)

    def _settled_late_count(self, lt: LoadedTest, ctx: _Ctx, deadline: float) -> int:
        """Flink's late-record count once every operator has read what its inputs wrote.

        Settled = downstream reads cover upstream writes and the counters stayed the
        same over two polls at least two metric-fetch intervals apart.
        """
        assert ctx.engine and ctx.handle and ctx.handle.job_id
        rest, job = ctx.engine.rest, ctx.handle.job_id
        prev: tuple[Any, ...] | None = None
        prev_at = 0.0
        while True:
            vs = rest.vertices(job)
            io = [
                (
                    int(v.get("metrics", {}).get("read-records", 0)),
                    int(v.get("metrics", {}).get("write-records", 0)),
                )
                for v in vs
            ]
            late = 0
            for v in vs:
                names = [
                    m
                    for m in rest.vertex_metrics(job, v["id"])
                    if m.endswith("numLateRecordsDropped")
                ]
                if names:
                    late += sum(
                        int(float(x or 0))
                        for x in rest.vertex_metrics(job, v["id"], names).values()
                    )
            caught_up = sum(r for r, _ in io[1:]) >= sum(w for _, w in io[:-1])
            now = time.monotonic()
            state = (tuple(io), late)
            if caught_up and state == prev and now - prev_at >= 0.45:
                return late
            if state != prev or not caught_up:
                prev, prev_at = state, now
            self._check_deadline(lt, ctx, deadline, "waiting for operators to settle")
            time.sleep(0.1)

    def _collect(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        reader: TopicReader,
        plans: list[OutputPlan],
        deadline: float,
    ) -> dict[str, list[OutputRow]]:
        assert ctx.engine and ctx.handle
        test = lt.test
        try:
            if test.completion is Completion.BOUNDED:
                while True:
                    time.sleep(0.05)
                    st = ctx.engine.status(ctx.handle)
                    if st.phase is Phase.COMPLETED:
                        break
                    if st.phase in (Phase.FAILED, Phase.STOPPED):
                        raise InfraError(
                            f"the job {st.phase.value.lower()}: {st.detail or 'no exception recorded'}"
                        )
                    self._check_deadline(lt, ctx, deadline, "waiting for the job to finish")
                ctx.note("job finished; reading outputs to their end")
                reader.stop()
                reader.read_to_end(deadline_s=max(1.0, deadline - time.monotonic()))
            else:
                reader.stop()
                want = sum(len(e.rows or []) for e in test.expected.values()) or None
                reader.read_until(
                    lambda recs: want is not None and len(recs) >= want,
                    deadline_s=max(1.0, deadline - time.monotonic()),
                    quiet_s=test.quiet_period,
                )
                if want is not None:  # a moment more to catch rows that should not be there
                    reader.read_until(
                        lambda _r: False, deadline_s=min(test.quiet_period, 2.0), quiet_s=1.0
                    )
        finally:
            reader.stop()
        by_topic = {p.topic: p for p in plans}
        out: dict[str, list[OutputRow]] = {p.table: [] for p in plans}
        last: dict[str, dict[bytes, Any]] = {p.table: {} for p in plans}
        for rec in reader.records:
            plan = by_topic[rec.topic]
            try:
                out[plan.table] += decode(rec, plan.mode, last[plan.table])
            except UndecodableOutput as exc:
                raise InfraError(f"{plan.table}: {exc}") from None
        return out

    def _validation_context(
        self,
        lt: LoadedTest,
        plans: list[OutputPlan],
        records: dict[str, list[OutputRow]],
        produced: dict[str, list[InputRecord]],
        metrics: Any,
        sql: str,
    ) -> ValidationContext:
        test = lt.test
        outputs = {}
        for p in plans:
            exp = test.expected.get(p.table)
            declared = test.tables.get(p.table)
            outputs[p.table] = TableOutput(
                table=p.table,
                columns=p.columns,
                updating=p.mode.value != "append",
                records=records[p.table],
                expected_rows=exp.rows if exp else None,
                ordered=bool(exp and exp.order is RowOrder.ORDERED),
                changelog=bool(exp and exp.mode is OutputMode.CHANGELOG),
                tolerance=exp.tolerance if exp else 1e-9,
                ignore_columns=exp.ignore_columns if exp else [],
                expected_count=exp.count if exp else None,
                expected_columns=[Column(name=c, type=t) for c, t in declared.schema_.items()]
                if declared
                else None,
                key=exp.key if exp else [],
            )
        extra: dict[str, Any] = {}
        for name, out in outputs.items():
            exp = test.expected.get(name)
            if (exp is None or exp.rows is None) and (
                (exp is not None and exp.reference_sql) or test.generated_data()
            ):
                from ctt.oracle import compute_expected

                res = compute_expected(test, name, sql=sql, columns=out.columns, inputs=produced)
                out.expected_rows = res.rows
                if res.expected_late_dropped is not None:
                    extra["expected_late_dropped"] = (
                        extra.get("expected_late_dropped", 0) + res.expected_late_dropped
                    )
                extra.setdefault("oracle_notes", []).extend(res.notes)
                extra["allowed_lateness_ms"] = res.allowed_lateness_ms
        for name in test.expected:
            if name not in outputs:
                raise ConfigError(
                    f"`expected` names {name!r}, which the SQL does not write",
                    file=str(lt.file),
                    line=lt.source_map.line_of(
                        ("flink_transformation_tests", test.name, "expected", name)
                    ),
                )
        return ValidationContext(
            test=test.name,
            outputs=outputs,
            inputs=[r for rs in produced.values() for r in rs],
            metrics=metrics,
            extra=extra,
        )

    # -- cleanup ---------------------------------------------------------------------------------
    def _cleanup(self, ctx: _Ctx) -> None:
        """Always: stop the job, close the session, delete the run's topics."""
        if ctx.reader is not None:
            with contextlib.suppress(Exception):
                ctx.reader.stop()
            ctx.reader.close()
        if ctx.engine is not None:
            if ctx.handle is not None:
                try:
                    ctx.engine.delete(ctx.handle)
                    ctx.note("job cancelled/removed")
                except CttError as exc:
                    ctx.note(f"cleanup: could not cancel job: {exc}")
            ctx.engine.close()
        if ctx.topics and not self.keep:
            try:
                self.admin.delete(ctx.topics)
                ctx.note(f"deleted {len(ctx.topics)} topics")
            except CttError as exc:
                ctx.note(f"cleanup: could not delete topics: {exc}")

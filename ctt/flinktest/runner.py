"""The one Flink test runner: spec -> topics -> statements -> data -> collect -> validate -> cleanup.

`ctt run` and the continuous-testing suites both come through here. Every
test gets its own engine session (from an :data:`EngineFactory`), run-scoped
topics and job; cleanup runs on success, failure, timeout and Ctrl-C alike.
The runner sees only the :class:`FlinkEngine` protocol and the
:class:`KafkaClient` seam, so its logic runs on fakes in unit tests.

Every wait (capacity, running, watermark, settled late count, completion,
output) goes through :meth:`FlinkTestRunner._wait`, which on each poll checks
Ctrl-C, the deadline and whether the job failed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from ctt.config.spec import Completion, FlinkTest, LateRows, LoadedTest, OutputMode, RowOrder
from ctt.engines.base import (
    FAILED_PHASES,
    Capacity,
    EngineError,
    FailureCause,
    FlinkEngine,
    JobFailed,
    LateCount,
    NoCapacity,
    Phase,
    StatementError,
    StatementHandle,
    StatementStatus,
    Unsupported,
)
from ctt.engines.factory import EngineFactory, LocalEngineSettings, engine_factory
from ctt.errors import ConfigError, CttError, ExitCode, InfraError, Interrupted
from ctt.expect import Policy
from ctt.expect import plan as plan_expectations
from ctt.flinktest import dlq_routing, error_reports, sink_run
from ctt.flinktest import inputs as inputs_mod
from ctt.flinktest import recovery as recovery_mod
from ctt.flinktest.job_metrics import result_metrics
from ctt.flinktest.outputs import UndecodableOutput, decode
from ctt.flinktest.pacing import Pacer
from ctt.flinktest.plan_cache import PlanCache
from ctt.flinktest.restarts import RestartWatch, TooManyRestarts
from ctt.flinktest.results import RunReport, TestResult
from ctt.flinktest.slots import SlotBudget, SlotSampler
from ctt.flinktest.sql_setup import (
    Job,
    OutputPlan,
    SqlSetup,
    SqlSource,
    resume_source,
    sql_source,
    targets,
)
from ctt.kafka.client import ConfluentKafka, KafkaClient, OutputReader
from ctt.kafka.naming import job_name, new_run_id, test_scope
from ctt.kafka.record import GeneratedRecord
from ctt.observed.model import (
    CheckpointStats,
    Column,
    InputRecord,
    OutputRow,
    StatementMetrics,
    TableOutput,
    ValidationContext,
)
from ctt.polling import Backoff
from ctt.report.model import ErrorKind, Status
from ctt.sink.connect import SinkFailed, cause_chain
from ctt.sink.connector import Endpoints
from ctt.sql import ddl, statements
from ctt.stack.state import StackState
from ctt.stack.supervisor import LocalStack
from ctt.validate import registry
from ctt.validate.latency import DEFAULT_WARMUP, percentile_metrics

_SLOT_ATTEMPTS = 5
_SMALL_INPUT_ROWS = 1000
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


class Cancelled(Interrupted):
    """The run was interrupted (Ctrl-C); the test cleaned up after itself."""


class TestTimeout(InfraError):
    __test__ = False


Listener = Callable[[str, str], None]  # (test id, phase text)
_T = TypeVar("_T")


def local_engines(stack: StackState) -> EngineFactory:
    """The factory for the local stack: its gateway, REST API and TaskManager log."""
    tm = stack.components.get("taskmanager")
    return engine_factory(
        LocalEngineSettings(
            gateway_url=stack.gateway_url,
            rest_url=stack.flink_rest_url,
            taskmanager_log=tm.log if tm else None,
        )
    )


class _LagProbe:
    """Watermark lag while a paced (rate-controlled) input is sent: the newest event time sent
    minus the job's watermark, read at most once a second (a few REST calls each)."""

    INTERVAL_S = 1.0

    def __init__(self) -> None:
        self.next_at = time.monotonic() + self.INTERVAL_S

    def sample(self, ctx: _Ctx, newest_ms: int) -> None:
        if time.monotonic() < self.next_at or ctx.engine is None or ctx.handle is None:
            return
        self.next_at = time.monotonic() + self.INTERVAL_S
        with contextlib.suppress(EngineError):
            mark = ctx.engine.watermark(ctx.handle)
            if mark is not None:
                lag = max(0, newest_ms - mark)
                ctx.watermark_lag_ms = max(lag, ctx.watermark_lag_ms or 0)


class _Ctx:
    """Per-test bookkeeping the cleanup needs, filled as the test goes."""

    def __init__(self, scope: str) -> None:
        self.scope = scope  # the test's unique name in the run (``naming.test_scope``)
        self.engine: FlinkEngine | None = None
        self.handle: StatementHandle | None = None
        self.reader: OutputReader | None = None
        self.src: SqlSource | None = None
        self.stmts: list[statements.Statement] = []
        self.sent = 0  # records produced so far (that a source counts as read)
        self.topics: list[str] = []
        self.late_dropped: int | None = None  # settled before the last record, if late data
        self.produced: dict[str, list[InputRecord]] = {}  # filled as records are delivered
        self.job_failure: dict[str, Any] | None = None  # a failure the spec expects
        self.checkpoints_at_start: CheckpointStats | None = None  # once every task ran
        self.recovery: recovery_mod.Recovery | None = None  # the spec's `recovery:` scenario
        self.restarting = False  # a scenario waits for Flink to restart the job
        self.watermark_lag_ms: int | None = None  # the most seen while a paced input was sent
        self.watch = RestartWatch(0)  # restarts `job_survives: {max_restarts}` tolerates
        self.job: tuple[str, str, dict[str, str]] | None = None  # (sql, name, SETs) to resubmit
        self.outputs: list[OutputPlan] = []  # the job's sink tables, as submitted
        self.resume: Resume | None = None  # `recovery.resume_sql`, planned in its own session
        self.retired: list[FlinkEngine] = []  # sessions a resubmit replaced, closed at cleanup
        self.slot_held = False  # a SlotBudget permit, from submitting the job to cancelling it
        self.log: list[str] = []
        self.sink: sink_run.SinkRun | None = None  # the spec's `sink:` connector
        self.target: Any = None  # what the connector wrote (TargetTable), for validation
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        self.log.append(f"[{time.monotonic() - self.started:6.2f}s] {text}")


class FlinkTestRunner:
    """Runs tests on engines from ``engines`` and Kafka through ``kafka``.

    ``stack`` is the shorthand for the local stack: both are built from it
    when not given.
    """

    def __init__(
        self,
        stack: StackState | None = None,
        *,
        engines: EngineFactory | None = None,
        kafka: KafkaClient | None = None,
        engine_name: str = "local",
        run_id: str | None = None,
        parallel: int | None = None,
        listener: Listener | None = None,
        keep: bool = False,
        snapshots: Policy | None = None,
        poll_s: float = 0.1,
        faults: recovery_mod.Faults | None = None,
        sample_slots: bool = True,
        flink_kafka: tuple[str, Mapping[str, str]] | None = None,
        sink_endpoints: Endpoints | None = None,
        job_metrics: bool = True,
    ) -> None:
        """``flink_kafka``: (bootstrap servers, client settings) of Kafka as the Flink cluster
        reaches it, when that is not how ``kafka`` reaches it (a secured or internal listener)."""
        self.snapshots = snapshots or Policy()
        if engines is None or kafka is None:
            if stack is None:
                raise TypeError("give the local stack, or both engines and kafka")
            engines = engines or local_engines(stack)
            kafka = kafka or ConfluentKafka(stack.bootstrap_servers)
        self.engines = engines
        self.kafka = kafka
        self.flink_kafka = flink_kafka or (kafka.bootstrap_servers, {})
        self.engine_name = engine_name
        self.run_id = run_id or new_run_id()
        self.parallel = max(1, parallel or (stack.slots if stack else 1))  # jobs at once
        self.sample_slots = sample_slots
        self._budget = SlotBudget(self.parallel)
        self.plans = PlanCache()  # CTAS columns and changelog modes, by SQL text, for the run
        self.listener = listener or (lambda _t, _p: None)
        self.keep = keep
        self.poll_s = poll_s
        self.job_metrics = job_metrics  # False: no metrics read after the test (--no-job-metrics)
        self.cancel = threading.Event()
        self.faults = faults if faults is not None or stack is None else LocalStack()
        self.sink_endpoints = sink_endpoints or sink_run.endpoints(stack)

    # -- the run ----------------------------------------------------------------------------
    def run(
        self, tests: list[LoadedTest], on_result: Callable[[TestResult], None] | None = None
    ) -> RunReport:
        report = RunReport(
            run_id=self.run_id, engine=self.engine_name, started_at=datetime.now(UTC)
        )
        t0 = time.monotonic()
        results: dict[int, TestResult] = {}
        # A recovery scenario kills the TaskManager every job runs on: run such tests alone.
        alone = any(lt.test.recovery is not None and not lt.test.skip for lt in tests)
        jobs = 1 if alone else self.parallel
        self._budget = SlotBudget(jobs)
        # Twice as many workers as job permits: while one job runs, the next test plans.
        workers = min(2 * jobs, max(1, len(tests)))
        with (
            self._sampling() as sampler,
            ThreadPoolExecutor(workers, thread_name_prefix="ctt-test") as pool,
        ):
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
        report.slots = sampler.result()
        report.finish(time.monotonic() - t0)
        return report

    @contextlib.contextmanager
    def _sampling(self) -> Iterator[SlotSampler]:
        """Samples the cluster's slot use on an engine session of its own, closed at the end."""
        if not self.sample_slots:
            yield SlotSampler(Capacity)  # never started: no samples, no SlotUse
            return
        try:
            engine = self.engines()
        except CttError:  # the tests meet the same error and report it, each with its own
            yield SlotSampler(Capacity)
            return
        try:
            with SlotSampler(engine.capacity) as sampler:
                yield sampler
        finally:
            with contextlib.suppress(CttError):
                engine.close()

    def run_one(self, lt: LoadedTest) -> TestResult:
        test = lt.test
        base = {"name": test.name, "file": str(lt.file), "line": lt.line, "run_id": self.run_id}
        if test.skip:
            return TestResult(**base, status=Status.SKIPPED, message=test.skip)
        if (why := sink_run.skip_reason(lt, self.sink_endpoints)) is not None:
            return TestResult(**base, status=Status.SKIPPED, message=why)
        if self.cancel.is_set():
            return TestResult(
                **base,
                status=Status.ERROR,
                error_kind=ErrorKind.INTERRUPTED,
                message="not started: interrupted",
            )
        ctx = _Ctx(test_scope(str(lt.file), test.name))
        if test.recovery is not None:
            ctx.recovery = recovery_mod.Recovery(test.recovery, self.faults)
        ctx.watch = RestartWatch(_restarts_allowed(test))
        result: TestResult
        try:
            result = self._execute(lt, ctx, base)
        except ConfigError as exc:
            result = TestResult(
                **base,
                status=Status.ERROR,
                error_kind=ErrorKind.CONFIG,
                message=str(exc),
                snippet=exc.snippet,
            )
        except TestTimeout as exc:
            result = TestResult(
                **base, status=Status.ERROR, error_kind=ErrorKind.TIMEOUT, message=str(exc)
            )
        except Cancelled:
            result = TestResult(
                **base, status=Status.ERROR, error_kind=ErrorKind.INTERRUPTED, message="interrupted"
            )
        except SinkFailed as exc:
            ctx.note(f"sink connector failed:\n{exc.trace}")
            result = TestResult(
                **base,
                status=Status.FAILED,
                error_kind=ErrorKind.JOB_FAILED,
                message=f"{exc}\n  " + "\n  caused ".join(cause_chain(exc.trace)),
                job_id=ctx.handle.job_id if ctx.handle else None,
            )
        except JobFailed as exc:
            ctx.note(f"job failed: {exc.cause.trace or exc.cause.summary()}")
            infra = exc.exit_code is ExitCode.INFRA
            result = TestResult(
                **base,
                status=Status.ERROR if infra else Status.FAILED,
                error_kind=ErrorKind.INFRA if infra else ErrorKind.JOB_FAILED,
                message=str(exc)
                + error_reports.suffix(r for rs in ctx.produced.values() for r in rs),
                job_id=ctx.handle.job_id if ctx.handle else None,
                restarts=ctx.watch.records,
                metrics=_restart_metrics(ctx.watch),
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
            try:
                self._cleanup(ctx)
            except Exception as exc:  # a cleanup fault must not lose the verdict or the run
                ctx.note(f"cleanup failed: {type(exc).__name__}: {exc}")
                self._release_slot(ctx)
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
        """The test's phases in order; each is a method below, and cleanup is the caller's."""
        deadline = time.monotonic() + lt.test.timeout
        self._phase(lt, ctx, "rendering SQL")
        outs, inputs = self._plan_inputs(lt, ctx)

        self._phase(lt, ctx, "creating session and tables")
        job, plans, settings, topic_of = self._create_tables(lt, ctx, outs, inputs)

        try:
            self._phase(lt, ctx, "waiting for one of the run's slots")
            deadline += self._take_slot(ctx)
            self._phase(lt, ctx, "starting job")
            reader = self._start_job(lt, ctx, job, plans, settings, deadline)
            if ctx.sink is not None:
                self._phase(lt, ctx, "starting the sink connector")
                ctx.sink.start(topic_of[ctx.sink.output], self._waiter(lt, ctx), deadline)

            self._phase(lt, ctx, "producing input")
            produced = self._produce(lt, ctx, inputs, topic_of, deadline)

            self._phase(lt, ctx, "collecting output")
            records = self._collect(lt, ctx, reader, plans, deadline)
            metrics = self._job_metrics(lt, ctx, produced, deadline)
            if ctx.sink is not None:
                self._phase(lt, ctx, "waiting for the sink's target")
                self._await_target(lt, ctx, plans, records, topic_of, deadline)
        except JobFailed as exc:
            if exc.cause.infrastructure or not error_reports.expects_failure(lt.test):
                raise
            produced = ctx.produced
            records, metrics = self._failed_as_expected(lt, ctx, exc, plans, deadline)

        self._phase(lt, ctx, "validating")
        return self._validate(lt, ctx, base, plans, records, produced, metrics)

    def _plan_inputs(
        self, lt: LoadedTest, ctx: _Ctx
    ) -> tuple[set[str], dict[str, inputs_mod.TableInput]]:
        """Render the SQL; the tables it writes and the records of the tables it reads."""
        test = lt.test
        ctx.src = sql_source(lt)
        ctx.stmts = statements.parse(ctx.src.text)
        outs = set(targets(ctx.stmts)) | dlq_routing.extra_outputs(test)
        if test.sink is not None:
            writes = {n: (test.tables[n].schema_ if n in test.tables else None) for n in outs}
            output = sink_run.resolve_output(lt, writes)
            ctx.sink = sink_run.SinkRun(
                test.sink,
                sink_run.require(self.sink_endpoints),
                run_id=self.run_id,
                scope=ctx.scope,
                output=output,
                note=ctx.note,
            )
        sources = {n for n in test.tables if n not in outs}
        try:
            return outs, inputs_mod.build(test, sources)
        except ValueError as exc:
            raise ConfigError(str(exc), file=str(lt.file), line=lt.line) from None

    def _create_tables(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        outs: set[str],
        inputs: dict[str, inputs_mod.TableInput],
    ) -> tuple[Job, list[OutputPlan], dict[str, str], dict[str, str]]:
        """The session, the run's topics, the tables over them: (job, outputs, SET, topics)."""
        test, src = lt.test, ctx.src
        assert src is not None
        engine = ctx.engine = self.engines()
        setup = self._sql_setup(engine)
        # Topics first: the tables' DDL does not create them.
        topic_of = setup.topic_names(test, outs, scope=ctx.scope)
        partitions = {
            topic_of[n]: test.tables[n].partitions if n in test.tables else 1 for n in topic_of
        }
        if ctx.sink is not None:
            partitions.update(dict.fromkeys(ctx.sink.topics(), 1))
        ctx.topics = list(partitions)
        self.kafka.create_topics(partitions)
        job, plans, settings = setup.prepare(
            test, src, ctx.stmts, inputs, topic_of, spec=lt.source_map
        )
        ctx.resume = self._plan_resume(lt, ctx, inputs, topic_of, plans)
        return job, plans, settings, topic_of

    def _sql_setup(self, engine: FlinkEngine) -> SqlSetup:
        bootstrap, props = self.flink_kafka
        return SqlSetup(
            engine,
            run_id=self.run_id,
            bootstrap=bootstrap,
            kafka_properties=props,
            plans=self.plans,
        )

    def _plan_resume(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        inputs: dict[str, inputs_mod.TableInput],
        topic_of: dict[str, str],
        was: list[OutputPlan],
    ) -> Resume | None:
        """``recovery.resume_sql`` planned up front in a session of its own, where its tables
        and views take the same names as the first SQL's: a mistake in it is found before the
        job runs, and planning does not count in the recovery time."""
        src = resume_source(lt)
        if src is None:
            return None
        stmts = statements.parse(src.text)

        def differs(writes: str) -> ConfigError:
            first = ", ".join(sorted(targets(ctx.stmts)))
            return src.error(
                f"resume_sql must write the tables and columns flink_sql writes ({first}); "
                f"it writes {writes}",
                1,
                None,
            )

        if set(targets(stmts)) != set(targets(ctx.stmts)):
            raise differs(", ".join(sorted(targets(stmts))) or "nothing")
        engine = self.engines()
        ctx.retired.append(engine)  # closed at cleanup, whether the resume happens or not
        job, plans, settings = self._sql_setup(engine).prepare(
            lt.test, src, stmts, inputs, topic_of, spec=lt.source_map
        )
        if [(p.table, p.columns) for p in plans] != [(p.table, p.columns) for p in was]:
            raise differs(
                "; ".join(f"{p.table}({', '.join(c.name for c in p.columns)})" for p in plans)
            )
        return Resume(engine=engine, sql=job.sql, settings=settings, where=src.file_line())

    def _take_slot(self, ctx: _Ctx) -> float:
        """Wait for one of the run's job permits; the seconds waited, which the test's
        timeout does not count (queueing behind the run's other tests is not the test's time)."""
        t0 = time.monotonic()

        def give_up() -> None:
            if self.cancel.is_set():
                raise Cancelled("interrupted")

        self._budget.acquire(give_up)
        ctx.slot_held = True
        waited = time.monotonic() - t0
        if waited >= 0.05:
            ctx.note(f"waited {waited:.1f}s for one of the run's slots")
        return waited

    def _release_slot(self, ctx: _Ctx) -> None:
        if ctx.slot_held:
            ctx.slot_held = False
            self._budget.release()

    def _start_job(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        job: Job,
        plans: list[OutputPlan],
        settings: dict[str, str],
        deadline: float,
    ) -> OutputReader:
        """Submit the job once a slot is free (retrying a slot lost to another run) and start
        reading its outputs."""
        engine, src = ctx.engine, ctx.src
        assert engine is not None and src is not None
        reader = ctx.reader = self.kafka.reader([p.topic for p in plans])
        name = job_name(self.run_id, ctx.scope)
        ctx.job = (job.sql, name, settings)
        ctx.outputs = plans
        for attempt in range(1, _SLOT_ATTEMPTS + 1):
            self._wait(
                lt,
                ctx,
                deadline,
                "waiting for a free TaskManager slot",
                lambda _st: True if engine.capacity().available else None,
                interval=2 * self.poll_s,
            )
            try:
                ctx.handle = engine.submit(job.sql, name=name, properties=settings)
            except StatementError as exc:
                raise job.rejected(exc, src) from None
            try:
                self._wait(
                    lt,
                    ctx,
                    deadline,
                    "waiting for the job to run",
                    lambda st: (
                        True if st and st.phase in (Phase.RUNNING, Phase.COMPLETED) else None
                    ),
                )
                break
            except NoCapacity:
                # Another run took the slot between our check and the job's request: try again.
                ctx.note(f"no free slot for the job (attempt {attempt}); waiting for one")
                engine.delete(ctx.handle)
                ctx.handle = None
        else:
            raise InfraError(
                f"no TaskManager slot became free for {lt.test.name} after {_SLOT_ATTEMPTS} attempts",
                hint="run fewer tests at once (-p) or start the stack with more --slots",
            )
        if lt.test.state is not None:  # failures so far were triggers while tasks deployed
            ctx.checkpoints_at_start = engine.metrics(ctx.handle).checkpoints
        reader.start()
        return reader

    def _job_metrics(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        produced: dict[str, list[InputRecord]],
        deadline: float,
    ) -> StatementMetrics:
        """The job's metrics, with the late-record count settled where the test needs it."""
        assert ctx.engine is not None and ctx.handle is not None
        late_sent = any(r.late for rs in produced.values() for r in rs)
        if ctx.late_dropped is None and lt.test.completion is Completion.QUIET and late_sent:
            ctx.late_dropped = self._settled_late_count(lt, ctx, deadline)
        state = lt.test.state
        if state is not None and state.min_checkpoints:
            self._wait_for_checkpoints(lt, ctx, state.min_checkpoints, deadline)
        self._finish_watch(ctx)
        if not self.job_metrics:  # only what the test itself settled
            return StatementMetrics(late_records_dropped=ctx.late_dropped)
        read_at = time.monotonic()
        metrics = ctx.engine.metrics(ctx.handle)
        ctx.note(f"job metrics read in {time.monotonic() - read_at:.3f}s")
        if metrics.watermark_ms is None and any(
            r.event_time_ms is not None for rs in produced.values() for r in rs
        ):
            with contextlib.suppress(EngineError):
                metrics.watermark_ms = ctx.engine.watermark(ctx.handle)
        if metrics.checkpoints is not None and ctx.checkpoints_at_start is not None:
            metrics.checkpoints.failed_while_starting = ctx.checkpoints_at_start.failed
        if ctx.late_dropped is not None:
            # The settled count misses drops that happen later (a local window combiner
            # buffers a late row until the next watermark); a snapshot after a bounded job
            # finished may miss the last updates: each is a lower bound.
            metrics.late_records_dropped = max(ctx.late_dropped, metrics.late_records_dropped or 0)
        return metrics

    def _recovery_step(self, lt: LoadedTest, ctx: _Ctx, deadline: float) -> None:
        """The recovery scenario's step due at the records produced so far (ctt.flinktest.recovery)."""
        rec, engine, handle = ctx.recovery, ctx.engine, ctx.handle
        if rec is None or rec.fired or engine is None or handle is None or ctx.job is None:
            return
        sql, name, settings = ctx.job

        def wait(
            what: str,
            probe: Callable[[], _T | None],
            *,
            restarting: bool = False,
            detached: bool = False,
        ) -> _T:
            ctx.restarting = restarting
            job = ctx.handle
            if detached:  # the JobManager that ran the job is gone: do not ask about it
                ctx.handle = None
            try:
                return self._wait(lt, ctx, deadline, what, lambda _st: probe())
            finally:
                ctx.restarting = False
                if detached:
                    ctx.handle = job

        def resubmit(
            extra: dict[str, str], *, new_transactions: bool = False
        ) -> tuple[FlinkEngine, StatementHandle]:
            now, old, resume = ctx.engine, ctx.handle, ctx.resume
            assert now is not None
            target, job_sql, job_settings = (
                (resume.engine, resume.sql, resume.settings) if resume else (now, sql, settings)
            )
            if new_transactions:  # a scenario resubmits once: the first new generation
                for plan in ctx.outputs:
                    options = rec.scenario.sink_options(plan.topic, generation=1)
                    if options:
                        target.run(ddl.alter_options(plan.table, options))
            ctx.handle = target.submit(job_sql, name=name, properties={**job_settings, **extra})
            if old is not None:
                now.delete(old)
            if resume is not None:  # a session of its own: it watches the job from now on
                ctx.engine = target
                ctx.retired.append(now)
                rec.report.resumed_with = resume.where
            try:
                self._wait(
                    lt,
                    ctx,
                    deadline,
                    "waiting for the resumed job to run",
                    lambda st: (
                        True if st and st.phase in (Phase.RUNNING, Phase.COMPLETED) else None
                    ),
                )
            except JobFailed as exc:
                if resume is None or exc.cause.infrastructure:
                    raise
                raise recovery_mod.RestoreFailed(
                    exc.cause, where=resume.where, scenario=rec.scenario
                ) from None
            return target, ctx.handle

        was_checkpointed = rec.checkpointed
        try:
            ctx.handle = rec.step(ctx.sent, engine, handle, wait, resubmit)
        except recovery_mod.RecoveryUnavailable as exc:
            raise InfraError(str(exc), hint="recovery scenarios run on the local stack") from None
        if rec.checkpointed and not was_checkpointed:
            ctx.note(f"recovery: checkpoint {rec.report.checkpoint_id} holds {ctx.sent} records")
        if rec.fired:
            ctx.note(f"recovery: {rec.report.model_dump_json(exclude_none=True)}")

    def _wait_for_checkpoints(self, lt: LoadedTest, ctx: _Ctx, count: int, deadline: float) -> None:
        engine, handle = ctx.engine, ctx.handle
        assert engine is not None and handle is not None

        def enough(_st: StatementStatus | None) -> bool | None:
            cps = engine.metrics(handle).checkpoints
            return True if cps is None or cps.completed >= count else None

        self._wait(lt, ctx, deadline, f"waiting for {count} completed checkpoints", enough)

    def _validate(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        base: dict[str, Any],
        plans: list[OutputPlan],
        records: dict[str, list[OutputRow]],
        produced: dict[str, list[InputRecord]],
        metrics: StatementMetrics,
    ) -> TestResult:
        """Run the spec's validations (and the expectations' own) on what the test observed."""
        assert ctx.src is not None
        vctx = self._validation_context(lt, plans, records, produced, metrics, ctx.src.text)
        expect = plan_expectations(lt, vctx.outputs, self.snapshots)  # snapshot, assertions
        vctx.spec, vctx.snapshot = expect.spec, expect.snapshot
        vctx.target = ctx.target
        if ctx.job_failure is not None:
            vctx.extra["job_failure"] = ctx.job_failure
        vctx.restarts = ctx.watch.records
        for warning in expect.warnings:
            ctx.note(f"warning: {warning}")
        outcomes = []
        for item in [*_validations(lt.test), *expect.validations]:
            ((name, raw),) = item.items()
            v = registry.get(name)
            outcomes.append(v.check(v.parse(raw), vctx))
        if ctx.recovery is not None:
            outcomes.append(recovery_mod.outcome(ctx.recovery, vctx))
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
            warnings=expect.warnings,
            job_id=ctx.handle.job_id if ctx.handle else None,
            records_in=sum(len(p) for p in produced.values()),
            records_out={t: len(r) for t, r in records.items()},
            dead_letters=error_reports.dlq_rows(vctx.dead_letters.records)
            if vctx.dead_letters
            else None,
            metrics={
                **result_metrics(
                    metrics,
                    (r for rs in produced.values() for r in rs),
                    running_lag_ms=ctx.watermark_lag_ms,
                ),
                **percentile_metrics(vctx, warmup=_warmup(lt.test)),
                **_restart_metrics(ctx.watch),
            },
            restarts=ctx.watch.records,
        )

    def _failed_as_expected(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        exc: JobFailed,
        plans: list[OutputPlan],
        deadline: float,
    ) -> tuple[dict[str, list[OutputRow]], StatementMetrics]:
        """The job failed and the spec expects it: wait until Flink gives up restarting it, then
        read what it wrote and record the failure for ``job_fails_as_expected``."""
        engine, handle = ctx.engine, ctx.handle
        assert engine is not None and handle is not None
        ctx.note(f"job failed as the spec expects: {exc.cause.summary()}")
        backoff = Backoff(self.poll_s)
        while engine.status(handle).phase not in (Phase.FAILED, Phase.STOPPED):
            self._check_deadline(lt, ctx, deadline, "waiting for the failed job to stop restarting")
            backoff.wait()
        metrics = engine.metrics(handle)
        restarts = metrics.restarts
        ctx.note(f"job FAILED after {restarts} restarts")
        records: dict[str, list[OutputRow]] = {p.table: [] for p in plans}
        if ctx.reader is not None:
            ctx.reader.stop()
            ctx.reader.read_to_end(deadline_s=max(1.0, deadline - time.monotonic()))
            records = self._decode(ctx.reader, plans)
        ctx.job_failure = error_reports.failure_info(
            exc.cause,
            where=self._where(ctx, exc.cause),
            restarts=restarts,
            records=(r for rs in ctx.produced.values() for r in rs),
        )
        return records, metrics

    def _wait(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        deadline: float,
        what: str,
        probe: Callable[[StatementStatus | None], _T | None],
        *,
        interval: float | None = None,
    ) -> _T:
        """Poll ``probe`` until it returns a value; on every poll check Ctrl-C, the job, the deadline.

        ``probe`` gets the job's status (None before a job exists), so a job that
        fails while ctt waits for anything is reported at the next poll. Polls start
        at 10 ms and back off to ``interval``: most waits end within a few polls.
        """
        backoff = Backoff(interval or self.poll_s)
        while True:
            if self.cancel.is_set():
                raise Cancelled("interrupted")
            st = self._check_job(ctx)
            value = probe(st)
            if value is not None:
                return value
            self._check_deadline(lt, ctx, deadline, what)
            backoff.wait()

    def _check_job(self, ctx: _Ctx) -> StatementStatus | None:
        """The job's status; :class:`JobFailed` (with the spec line) if it failed or restarted."""
        if ctx.engine is None or ctx.handle is None:
            return None
        watched = bool(ctx.watch.allowed) and ctx.recovery is None
        try:
            st = ctx.engine.status(ctx.handle)
        except NoCapacity as exc:
            if not (ctx.restarting or (watched and ctx.watch.ran)):
                raise
            if exc.final:  # the restart strategy gave up before a TaskManager came back
                raise JobFailed(
                    FailureCause(exception="NoResourceAvailableException", message=exc.message),
                    where="restarts exhausted while the new TaskManager registered",
                ) from None
            if watched:
                ctx.watch.lost_slot(ctx.engine, ctx.handle)
            return None  # a restart attempt found no slot yet: Flink tries again
        if ctx.restarting and recovery_mod.restart_tolerated(st):
            return st
        if watched:
            try:
                if ctx.watch.tolerates(st, ctx.engine, ctx.handle):
                    return st
            except TooManyRestarts as exc:  # the test's verdict, whatever made the job restart
                cause = (st.cause or _unknown_cause(st)).model_copy(
                    update={"infrastructure": False}
                )
                raise JobFailed(cause, where=str(exc)) from None
        failed = st.phase in FAILED_PHASES or (st.phase is Phase.DEGRADED and st.cause)
        if failed:
            cause = st.cause or _unknown_cause(st)
            raise JobFailed(cause, where=None if cause.infrastructure else self._where(ctx, cause))
        if st.phase is Phase.STOPPED:
            raise InfraError("the job was stopped outside ctt", hint="`ctt stack logs jobmanager`")
        return st

    def _finish_watch(self, ctx: _Ctx) -> None:
        """Restarts between two polls, from the engine's history; too many fail the test."""
        assert ctx.engine is not None and ctx.handle is not None
        try:
            ctx.watch.finish(ctx.engine, ctx.handle)
        except TooManyRestarts as exc:
            cause = FailureCause(exception="JobRestarted", message=str(exc))
            raise JobFailed(cause, where=str(exc)) from None
        for i, r in enumerate(ctx.watch.records, 1):
            took = "not seen running again" if r.seconds is None else f"{r.seconds:.2f}s"
            ctx.note(
                f"restart {i}: {r.cause or 'unknown cause'} ({r.failures} failure(s) until it "
                f"ran again); time to recover {took}"
            )

    @staticmethod
    def _where(ctx: _Ctx, cause: FailureCause) -> str | None:
        """file:line of the statement whose operator failed (its sink table is in the task name)."""
        src = ctx.src
        if src is None:
            return None
        writers = [s for s in ctx.stmts if s.target]
        op = cause.operator or ""
        hit = next((s for s in writers if f"{s.target}[" in op), None)
        if hit is None and len(writers) == 1:
            hit = writers[0]
        line = src.locate(hit.line, None) if hit else src.first_line
        return f"{src.file}:{line}"

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
        out = ctx.produced
        for name, inp in inputs.items():
            out[name] = self._produce_table(lt, ctx, name, inp, topic_of[name], deadline)
            ctx.note(f"produced {len(out[name])} records to {topic_of[name]}")
        return out

    def _produce_table(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        name: str,
        inp: inputs_mod.TableInput,
        topic: str,
        deadline: float,
    ) -> list[InputRecord]:
        """One table's records, in segments that each may wait for a watermark first."""
        test = lt.test
        bounded = test.completion is Completion.BOUNDED
        sent: list[InputRecord] = ctx.produced.setdefault(name, [])
        on_sent = _recorder(name, inp, sent)
        records = [r for r in inp.records if not (bounded and r.closing)]
        hold_back = self._holds_late_rows(test.late_rows, inp)
        # With late records, the last record is held back until every operator has
        # processed the rest: Flink's late-record count is read from REST metrics, which
        # stop updating once the (bounded) job finishes.
        hold = (
            records.pop() if bounded and len(records) > 1 and any(r.late for r in records) else None
        )
        segments = self._segments(records, test.produce_rate, split_late=hold_back)
        if ctx.recovery is not None:
            segments = ctx.recovery.split(segments, ctx.sent)
        gen = test.generated_data().get(name)
        pacer = Pacer(gen.rate) if gen is not None and gen.rate and not test.produce_rate else None
        if pacer is not None:
            segments = pacer.chunks(segments)
        # Many small sends (watermark barriers, paced rows): an idempotent producer costs
        # ~0.5 s to start (PID handshake), so these use acks=all with one request in flight,
        # which keeps order and loses nothing; the read-back would show any duplicate.
        # A small explicit input is sent the same way: one request of a few rows.
        small = not inp.generated and len(records) <= _SMALL_INPUT_ROWS
        conf = _SEGMENT_PRODUCER if small or len(segments) > 1 or hold is not None else None
        parts = {r.partition for r in records} | ({hold.partition} if hold else set())
        seen: dict[int, int] = {}  # partition -> highest event time sent
        lag_probe = (
            _LagProbe() if pacer is not None and inp.watermark_delay_ms is not None else None
        )
        for segment in segments + ([[hold]] if hold is not None else []):
            self._check_deadline(lt, ctx, deadline, "producing input")
            first = segment[0]
            if first.late and hold_back:
                target = _flink_watermark(first, seen, parts, inp.watermark_delay_ms)
                if target is not None:
                    ctx.note(
                        f"holding back {name} row {first.index + 1} (event time "
                        f"{_iso(first.event_time_ms)}, late) until Flink's watermark "
                        f"reaches {_iso(target)}"
                    )
                    self._watermark_barrier(lt, ctx, target, deadline)
            elif not hold_back and not inp.generated:
                _note_late_as_written(ctx, name, segment)
            if first is hold:
                ctx.late_dropped = self._settled_late_count(lt, ctx, deadline)
            self._recovery_step(lt, ctx, deadline)
            if pacer is not None:
                time.sleep(pacer.delay())  # rate control (at most 1/20 s), not synchronization
                pacer.sent += len(segment)
            self.kafka.produce(segment, topic, on_sent=on_sent, producer_config=conf)
            ctx.sent += sum(1 for r in segment if r.fields is not None and not r.malformed)
            for r in segment:
                seen[r.partition] = max(seen.get(r.partition, r.event_time_ms), r.event_time_ms)
            if lag_probe is not None and seen:
                lag_probe.sample(ctx, max(seen.values()))
        self._recovery_step(lt, ctx, deadline)
        if pacer is not None and (achieved := pacer.achieved()) is not None:
            ctx.note(f"{name}: produced at {achieved:.0f} records/s (rate {pacer.rate:g})")
        return sent

    @staticmethod
    def _holds_late_rows(option: LateRows | None, inp: inputs_mod.TableInput) -> bool:
        """Explicit rows go as written unless the spec asks; generated late events wait."""
        if option is None:
            return inp.generated
        return option is LateRows.WAIT_FOR_WATERMARK

    @staticmethod
    def _segments(
        records: list[GeneratedRecord], rate: float | None, *, split_late: bool = True
    ) -> list[list[GeneratedRecord]]:
        """Split before every late record (it may need a watermark barrier) and, with a rate, per record."""
        segs: list[list[GeneratedRecord]] = []
        for rec in records:
            if not segs or (split_late and rec.late) or rate:
                segs.append([rec])
            else:
                segs[-1].append(rec)
        return segs

    def _watermark_barrier(
        self, lt: LoadedTest, ctx: _Ctx, watermark_ms: int, deadline: float
    ) -> None:
        """Wait until the job's watermark (min over sources) >= ``watermark_ms``: the next record is then late for sure."""
        engine, handle = ctx.engine, ctx.handle
        assert engine is not None and handle is not None

        def reached(_st: StatementStatus | None) -> bool | None:
            mark = engine.watermark(handle)
            return True if mark is not None and mark >= watermark_ms else None

        self._wait(
            lt, ctx, deadline, f"waiting for the watermark to reach {_iso(watermark_ms)}", reached
        )

    def _settled_late_count(self, lt: LoadedTest, ctx: _Ctx, deadline: float) -> int | None:
        """Flink's late-record count once the engine says it settled; None if it cannot count."""
        engine, handle = ctx.engine, ctx.handle
        assert engine is not None and handle is not None
        sent = ctx.sent

        def settled(_st: StatementStatus | None) -> LateCount | None:
            return engine.settled_late_count(handle, min_source_records=sent)

        try:
            count = self._wait(lt, ctx, deadline, "waiting for operators to settle", settled)
        except Unsupported as exc:
            ctx.note(f"late records dropped: unknown ({exc.message})")
            return None
        ctx.note(f"late records dropped (settled): {count.dropped}")
        return count.dropped

    def _collect(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        reader: OutputReader,
        plans: list[OutputPlan],
        deadline: float,
    ) -> dict[str, list[OutputRow]]:
        test = lt.test
        try:
            if test.completion is Completion.BOUNDED:
                self._wait(
                    lt,
                    ctx,
                    deadline,
                    "waiting for the job to finish",
                    lambda st: True if st and st.phase is Phase.COMPLETED else None,
                    interval=self.poll_s / 2,
                )
                ctx.note("job finished; reading outputs to their end")
                self._release_slot(ctx)  # a finished job holds no TaskManager slot
                reader.stop()
                reader.read_to_end(deadline_s=max(1.0, deadline - time.monotonic()))
            else:
                reader.stop()
                want = sum(len(e.rows or []) for e in test.expected.values()) or None

                def enough(recs: list[Any]) -> bool:
                    self._wait(lt, ctx, deadline, "collecting output", lambda _st: True)
                    return want is not None and len(recs) >= want

                while True:
                    reader.read_until(
                        enough,
                        deadline_s=max(1.0, deadline - time.monotonic()),
                        quiet_s=test.quiet_period,
                    )
                    if not ctx.watch.down:
                        break
                    # Quiet because the job restarts, not because it is done: read on once it runs.
                    self._wait(
                        lt,
                        ctx,
                        deadline,
                        "waiting for the restarted job to run",
                        lambda _st: None if ctx.watch.down else True,
                    )
                if want is not None:  # a moment more to catch rows that should not be there
                    reader.read_until(
                        lambda recs: enough(recs) and False,
                        deadline_s=min(test.quiet_period, 2.0),
                        quiet_s=1.0,
                    )
                self._check_job(ctx)  # a job that died at the end wrote a partial result
        finally:
            reader.stop()
        return self._decode(reader, plans)

    @staticmethod
    def _decode(reader: OutputReader, plans: list[OutputPlan]) -> dict[str, list[OutputRow]]:
        """The records read, decoded into each output's rows."""
        by_topic = {p.topic: p for p in plans}
        out: dict[str, list[OutputRow]] = {p.table: [] for p in plans}
        last: dict[str, dict[bytes, Any]] = {p.table: {} for p in plans}
        for rec in reader.records:
            plan = by_topic[rec.topic]
            try:
                out[plan.table] += decode(rec, plan.mode, last[plan.table], envelope=plan.envelope)
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
        dead = test.error_handling.dead_letter if test.error_handling else None
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
        dead_letters = outputs.pop(dead, None) if dead else None
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
            if name not in outputs and name != dead:
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
            dead_letters=dead_letters,
        )

    def _waiter(self, lt: LoadedTest, ctx: _Ctx) -> sink_run.Wait[Any]:
        """The runner's wait (Ctrl-C, the job's health, the deadline) for the sink's probes."""

        def wait(what: str, probe: Callable[[], Any], deadline: float) -> Any:
            return self._wait(lt, ctx, deadline, what, lambda _st: probe())

        return wait

    def _await_target(
        self,
        lt: LoadedTest,
        ctx: _Ctx,
        plans: list[OutputPlan],
        records: dict[str, list[OutputRow]],
        topic_of: dict[str, str],
        deadline: float,
    ) -> None:
        """Until the target caught up with the output topic; then read it and its DLQ."""
        sink = ctx.sink
        assert sink is not None
        plan = next(p for p in plans if p.table == sink.output)
        if sink.sink.malformed:
            sink.inject(self.kafka, topic_of[sink.output], sink.sink.malformed)
        want = sink_run.final_count(sink.sink, records[sink.output], plan.columns)
        sink.await_rows(want, self._waiter(lt, ctx), deadline)
        dead: list[str] = []
        if sink.names.dead_letter_topic is not None:
            reader = self.kafka.reader([sink.names.dead_letter_topic])
            try:
                reader.start()
                reader.stop()
                reader.read_to_end(deadline_s=max(1.0, deadline - time.monotonic()))
                dead = [(r.value or b"").decode("utf-8", "replace") for r in reader.records]
            finally:
                reader.close()
        ctx.target = sink.observe(dead)

    # -- cleanup ---------------------------------------------------------------------------------
    def _cleanup(self, ctx: _Ctx) -> None:
        """Always: stop the job, close the session, remove the sink, delete the run's topics."""
        if ctx.sink is not None:
            ctx.sink.cleanup(keep=self.keep)
        if ctx.reader is not None:
            with contextlib.suppress(Exception):
                ctx.reader.stop()
            with contextlib.suppress(Exception):
                ctx.reader.close()
        if ctx.engine is not None:
            if ctx.handle is not None:
                try:
                    ctx.engine.delete(ctx.handle)
                    ctx.note("job cancelled/removed")
                except CttError as exc:
                    ctx.note(f"cleanup: could not cancel job: {exc}")
            for session in {id(e): e for e in [ctx.engine, *ctx.retired]}.values():
                try:
                    session.close()
                except CttError as exc:
                    ctx.note(f"cleanup: could not close the engine session: {exc}")
        self._release_slot(ctx)  # the job is gone: the next test may submit
        if ctx.topics and not self.keep:
            try:
                self.kafka.delete_topics(ctx.topics)
                ctx.note(f"deleted {len(ctx.topics)} topics")
            except CttError as exc:
                ctx.note(f"cleanup: could not delete topics: {exc}")


class Resume(NamedTuple):
    """The job a recovery scenario resubmits instead of the test's own (``resume_sql``)."""

    engine: FlinkEngine
    sql: str
    settings: dict[str, str]
    where: str  # file:line of resume_sql, for the report


def _recorder(
    name: str, inp: inputs_mod.TableInput, sent: list[InputRecord]
) -> Callable[[GeneratedRecord, float], None]:
    """The producer's ``on_sent``: appends what was delivered (and when) to ``sent``."""

    def on_sent(rec: GeneratedRecord, at: float) -> None:
        sent.append(
            InputRecord(
                table=name,
                row=rec.fields,
                key=None,
                produced_at=at,
                event_time_ms=rec.event_time_ms,
                watermark_delay_ms=inp.watermark_delay_ms,
                late=rec.late,
                malformed=rec.malformed.value if rec.malformed else None,
                payload=rec.value.decode("utf-8", "replace") if rec.malformed else None,
                closing=rec.closing,
                partition=rec.partition,
            )
        )

    return on_sent


def _note_late_as_written(ctx: _Ctx, name: str, segment: list[GeneratedRecord]) -> None:
    for r in (r for r in segment if r.late):
        ctx.note(
            f"{name} row {r.index + 1} (event time {_iso(r.event_time_ms)}) is "
            "behind the watermark by event time; sent as written "
            "(`late_rows: wait_for_watermark` holds it back)"
        )


def _warmup(test: FlinkTest) -> int:
    """Records left out of the latency percentiles every test keeps: ``performance.warmup``."""
    return test.performance.warmup if test.performance else DEFAULT_WARMUP


def _validations(test: FlinkTest) -> list[dict[str, Any]]:
    """The spec's ``validation:`` (or what its ``expected:`` implies) and ``performance:``."""
    perf = test.performance.validations() if test.performance else []
    return [*_declared_validations(test), *perf]


def _declared_validations(test: FlinkTest) -> list[dict[str, Any]]:
    """The spec's ``validation:``, or what its ``expected:`` implies: rows, else a count;
    with a ``sink:``, the sink checks too (``sink_no_data_loss`` always)."""
    named = list(test.validation) or _implied(test)
    if test.sink is not None and not any(n.startswith("sink_") for i in named for n in i):
        rows = any(e.rows is not None for e in test.expected.values()) and not test.validation
        named += [{"sink_rows_match": True}] if rows else []
        named.append({"sink_no_data_loss": True})
    return named


def _implied(test: FlinkTest) -> list[dict[str, Any]]:
    if any(e.rows is not None for e in test.expected.values()):
        return [{"rows_match": True}]
    if test.expected:
        return [{"row_count": sum(e.count or 0 for e in test.expected.values())}]
    return []


def _restarts_allowed(test: FlinkTest) -> int:
    """``job_survives: {max_restarts: n}``: the restarts the runner lets the job take."""
    for item in test.validation:
        if "job_survives" in item:
            v = registry.get("job_survives")
            return int(getattr(v.parse(item["job_survives"]), "max_restarts", 0))
    return 0


def _restart_metrics(watch: RestartWatch) -> dict[str, float | int | str | None]:
    return dict(watch.metrics()) if watch.allowed else {}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _unknown_cause(st: StatementStatus) -> FailureCause:
    return FailureCause(exception="JobFailure", message=st.detail or "no exception recorded")

"""Recovery scenarios inside a test: a fault mid-stream, the job's recovery, the output judged.

A scenario (``recovery:`` in a spec, :class:`ctt.config.state.RecoveryScenario`) runs in two
steps while the runner produces input:

1. after ``after_records`` records: wait until the job read them all (counters settled), then
   for a checkpoint that *started* after that, so the checkpoint holds every one of them;
2. after ``in_flight`` more records (read, not checkpointed unless a periodic checkpoint
   came in between): the fault. ``kill_taskmanager`` SIGKILLs the TaskManager's pid and has
   the stack start a new one; ctt waits until Flink restarted the job and every task runs
   again, and measures the seconds that took, the restarts and the records the sources read
   again (replayed). ``stop_with_savepoint_and_resume`` stops the job with a savepoint and
   submits the same statement restored from it. ``restart_jobmanager`` SIGKILLs the
   JobManager and has the stack start a new one: a session cluster without HA forgets its
   jobs, so ctt waits until the new JobManager answers with a free TaskManager slot, finds
   the newest checkpoint the old job left on disk (retained: the JobManager that would have
   cleaned it up is dead, and the job runs with RETAIN_ON_CANCELLATION) and submits the same
   statement restored from it, as an operator would (``execution.state-recovery.path``).

After the run, :func:`outcome` compares the output with the uninterrupted expected rows
(explicit or oracle): records lost, duplicated (counted, and a failure for exactly-once) and
changed. Every wait is a poll with the test's deadline, through the runner's waiter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from ctt.config.state import Guarantee, RecoveryScenario, ScenarioKind
from ctt.engines.base import (
    EngineError,
    FailureCause,
    FlinkEngine,
    JobFailed,
    NoCapacity,
    Phase,
    StatementHandle,
    StatementStatus,
)
from ctt.kafka.record import GeneratedRecord
from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import Comparer, compare

_T = TypeVar("_T")


class Faults(Protocol):
    """What a scenario does to the stack: ``ctt.stack.supervisor.LocalStack`` implements it."""

    def kill(self, component: str) -> int:
        """SIGKILL the component's process; its pid."""
        ...

    def restart(self, component: str) -> object:
        """Start the component again."""
        ...


class Waiter(Protocol):
    """The runner's poll loop (Ctrl-C, deadline, failed job); ``restarting`` tolerates a restart,
    ``detached`` does not look at the job at all (the JobManager that ran it is gone)."""

    def __call__(
        self,
        what: str,
        probe: Callable[[], _T | None],
        *,
        restarting: bool = False,
        detached: bool = False,
    ) -> _T: ...


class Resubmit(Protocol):
    """Submit the test's job (or the spec's ``resume_sql``) again with extra options, wait until
    it runs; the engine that watches it now (``resume_sql`` plans in a session of its own) and
    its handle. ``new_transactions`` gives the exactly-once sinks a transactional id prefix of
    their own for the new job (see ``RecoveryScenario.sink_options``)."""

    def __call__(
        self, extra: dict[str, str], *, new_transactions: bool = False
    ) -> tuple[FlinkEngine, StatementHandle]: ...


class RecoveryReport(BaseModel):
    """What a scenario did and measured; kept as the ``recovery`` outcome's properties."""

    scenario: ScenarioKind
    fired_after_records: int = 0
    checkpoint_id: int | None = Field(None, description="the checkpoint ctt waited for")
    restored_id: int | None = Field(None, description="the checkpoint/savepoint Flink restored")
    killed_pid: int | None = None
    savepoint: str | None = None
    restored_from: str | None = Field(None, description="the retained checkpoint resubmitted from")
    restarts: int | None = None
    seconds: float | None = Field(None, description="fault to every task running again")
    records_replayed: int | None = Field(None, description="records the sources read again")
    resumed_with: str | None = Field(None, description="file:line of the resume_sql resubmitted")

    def properties(self) -> dict[str, str]:
        return {
            f"recovery_{k}": f"{v:.2f}" if isinstance(v, float) else str(v)
            for k, v in self.model_dump(mode="json").items()
            if v is not None
        }


class Recovery:
    """One scenario's progress through a test's input (see the module docstring)."""

    def __init__(self, scenario: RecoveryScenario, faults: Faults | None) -> None:
        self.scenario = scenario
        self.faults = faults
        self.report = RecoveryReport(scenario=scenario.scenario)
        self.checkpointed = False
        self.fired = False

    @property
    def _fire_at(self) -> int:
        return self.scenario.after_records + self.scenario.in_flight

    def split(
        self, segments: list[list[GeneratedRecord]], sent: int
    ) -> list[list[GeneratedRecord]]:
        """Segments cut where a step is due, counting records as the runner does (``sent``)."""
        cuts = {self.scenario.after_records, self._fire_at}
        out: list[list[GeneratedRecord]] = []
        for seg in segments:
            cur: list[GeneratedRecord] = []
            for rec in seg:
                if sent in cuts and cur:
                    out.append(cur)
                    cur = []
                cur.append(rec)
                if rec.fields is not None and not rec.malformed:
                    sent += 1
            if cur:
                out.append(cur)
        return out

    def step(
        self,
        sent: int,
        engine: FlinkEngine,
        handle: StatementHandle,
        wait: Waiter,
        resubmit: Resubmit,
    ) -> StatementHandle:
        """Run the step due at ``sent`` records, if any; the job's handle afterwards."""
        if not self.checkpointed and sent >= self.scenario.after_records:
            self._checkpoint(sent, engine, handle, wait)
            self.checkpointed = True
        if self.checkpointed and not self.fired and sent >= self._fire_at:
            self.fired = True
            self.report.fired_after_records = sent
            _caught_up(sent, engine, handle, wait)
            kind = self.scenario.scenario
            if kind is ScenarioKind.KILL_TASKMANAGER:
                self._kill_taskmanager(engine, handle, wait)
            elif kind is ScenarioKind.RESTART_JOBMANAGER:
                handle = self._restart_jobmanager(engine, handle, wait, resubmit)
            else:
                handle = self._savepoint_and_resume(engine, handle, resubmit)
        return handle

    def _checkpoint(
        self, sent: int, engine: FlinkEngine, handle: StatementHandle, wait: Waiter
    ) -> None:
        _caught_up(sent, engine, handle, wait)
        cps = engine.metrics(handle).checkpoints
        started = (cps.last_triggered_id if cps else None) or 0

        def covering() -> int | None:
            now = engine.metrics(handle).checkpoints
            done = now.last_completed_id if now else None
            return done if done is not None and done > started else None

        self.report.checkpoint_id = wait(
            f"waiting for a checkpoint after {sent} records (set `state.checkpoint_interval`)",
            covering,
        )

    def _kill_taskmanager(self, engine: FlinkEngine, handle: StatementHandle, wait: Waiter) -> None:
        if self.faults is None:
            raise RecoveryUnavailable("kill_taskmanager needs the local stack")
        before = engine.metrics(handle).restarts or 0
        self.report.killed_pid = self.faults.kill("taskmanager")
        fault_at = time.monotonic()
        self.faults.restart("taskmanager")

        def recovered() -> int | None:
            try:
                st = engine.status(handle)
            except NoCapacity as exc:  # the new TaskManager has not registered its slots yet
                if exc.final:
                    raise
                return None
            restarts = engine.metrics(handle).restarts or 0
            return restarts if st.phase is Phase.RUNNING and restarts > before else None

        restarts = wait("waiting for the job to recover", recovered, restarting=True)
        self.report.seconds = time.monotonic() - fault_at
        self.report.restarts = restarts - before
        cps = engine.metrics(handle).checkpoints
        self.report.restored_id = cps.last_restored_id if cps else None
        self._replayed(engine, handle, wait)

    def _replayed(self, engine: FlinkEngine, handle: StatementHandle, wait: Waiter) -> None:
        """Records the restored job read again, once its counters settled.

        Nothing was produced since the fault: what the sources read now, they read again.
        Restored from the checkpoint ctt waited for, that is at least the in-flight records;
        from a later periodic one, fewer, and the settled counters tell how many.
        """
        floor = (
            self.scenario.in_flight or None
            if self.report.restored_id == self.report.checkpoint_id
            else None
        )

        def settled() -> int | None:
            count = engine.settled_late_count(handle, min_source_records=floor)
            return None if count is None else (engine.metrics(handle).records_in or 0)

        self.report.records_replayed = wait("waiting for the replay to settle", settled)

    def _restart_jobmanager(
        self, engine: FlinkEngine, handle: StatementHandle, wait: Waiter, resubmit: Resubmit
    ) -> StatementHandle:
        if self.faults is None:
            raise RecoveryUnavailable("restart_jobmanager needs the local stack")
        cps = engine.metrics(handle).checkpoints
        where = cps.last_completed_path if cps else None
        if not where:
            raise RecoveryUnavailable(
                f"the {engine.name} engine names no location for the job's checkpoints"
            )
        job_dir = local_path(where).parent
        self.report.killed_pid = self.faults.kill("jobmanager")
        fault_at = time.monotonic()
        self.faults.restart("jobmanager")
        wait(
            "waiting for the new JobManager and a free TaskManager slot",
            lambda: True if _free_slot(engine) else None,
            detached=True,
        )
        found = retained_checkpoint(job_dir)
        if found is None:
            raise RecoveryUnavailable(
                f"the JobManager restart left no completed checkpoint under {job_dir}: "
                "nothing to resubmit the job from"
            )
        self.report.restored_from = str(found)
        # The TaskManager outlived its JobManager: the old job's Kafka writer may still hold its
        # registration under the old prefix there, and the new job's writer would collide
        # with it (Flink's "Writable backchannel already exists").
        engine, new = resubmit(self.scenario.resume_options(str(found)), new_transactions=True)
        self.report.seconds = time.monotonic() - fault_at
        cps = engine.metrics(new).checkpoints
        self.report.restored_id = cps.last_restored_id if cps else None
        self.report.restarts = 0
        self._replayed(engine, new, wait)
        return new

    def _savepoint_and_resume(
        self, engine: FlinkEngine, handle: StatementHandle, resubmit: Resubmit
    ) -> StatementHandle:
        path = engine.stop(handle, savepoint=True)
        if path is None:
            raise RecoveryUnavailable(f"the {engine.name} engine took no savepoint")
        self.report.savepoint = path
        resumed_at = time.monotonic()
        engine, new = resubmit(self.scenario.resume_options(path))
        self.report.seconds = time.monotonic() - resumed_at
        cps = engine.metrics(new).checkpoints
        self.report.restored_id = cps.last_restored_id if cps else None
        self.report.restarts = 0
        return new


class RestoreFailed(JobFailed):
    """The job resumed with ``resume_sql`` failed as it started: its state did not restore.

    A failed test, not an error: the SQL change is what the test checks, and Flink's
    cause (an operator of the savepoint the new plan lacks, a state type that changed)
    is the answer. Flink names operators by their place in the plan, so a change in a
    projection or filter keeps the state, a new aggregate or join usually does not.
    """

    def __init__(self, cause: FailureCause, *, where: str, scenario: RecoveryScenario) -> None:
        super().__init__(cause, where=where)
        text = f"{cause.summary()} {cause.trace or ''}"
        unclaimed = "allowNonRestoredState" in text or "Cannot map" in text
        drop = (
            ", or set `recovery.allow_non_restored_state: true` to drop the state no operator "
            "of the new SQL takes"
            if unclaimed and not scenario.allow_non_restored_state
            else ""
        )
        self.message = f"resume_sql ({where}) could not restore the job's state: {cause.summary()}"
        self.hint = (
            f"keep the stateful part of the query (GROUP BY, joins, windows) as it was{drop}"
        )


class RecoveryUnavailable(RuntimeError):
    """The engine or stack cannot inject this fault."""


def local_path(location: str) -> Path:
    """``file:/x/chk-3`` or ``file:///x/chk-3`` (Flink's external_path) as a local path."""
    parts = urlsplit(location)
    return Path(parts.path if parts.scheme in ("file", "") else location)


def retained_checkpoint(job_dir: Path) -> Path | None:
    """The newest completed checkpoint under a job's checkpoint directory: ``chk-<n>`` with its
    ``_metadata`` (the JobManager writes that file last, when the checkpoint completes)."""
    done = [
        d for d in job_dir.glob("chk-*") if d.name[4:].isdigit() and (d / "_metadata").is_file()
    ]
    return max(done, key=lambda d: int(d.name[4:]), default=None)


def _free_slot(engine: FlinkEngine) -> bool:
    """The JobManager answers and a TaskManager has a free slot for the resubmitted job."""
    try:
        return engine.capacity().available
    except EngineError:  # the new JobManager is not up yet
        return False


def _caught_up(sent: int, engine: FlinkEngine, handle: StatementHandle, wait: Waiter) -> None:
    """Until the sources read ``sent`` records and every operator processed what it was sent."""
    wait(
        f"waiting for the job to read {sent} records",
        lambda: engine.settled_late_count(handle, min_source_records=sent),
    )


def restart_tolerated(status: StatementStatus) -> bool:
    """A restart in progress, not a failure, while a scenario waits for recovery."""
    return status.phase in (Phase.DEGRADED, Phase.FAILING, Phase.PENDING)


def outcome(recovery: Recovery, ctx: ValidationContext) -> Outcome:
    """Output against the uninterrupted expectation: lost, duplicated and changed records."""
    sc = recovery.scenario
    props = recovery.report.properties()
    if not recovery.fired:
        return Outcome(
            name="recovery",
            passed=False,
            summary=f"the fault never fired: the test produced fewer than "
            f"{sc.after_records + sc.in_flight} records",
            properties=props,
        )
    lost = duplicated = changed = compared = 0
    for out in ctx.outputs.values():
        m = compare(out)
        if m is None:
            continue
        compared += 1
        cmp = Comparer(out.columns, tolerance=out.tolerance, ignore=out.ignore_columns)
        expected = out.expected_rows or []
        lost += len(m.missing)
        for row in m.unexpected:
            if any(cmp.equal(e, row) for e in expected):
                duplicated += 1
            else:
                changed += 1
    if compared == 0:
        return Outcome(
            name="recovery",
            passed=False,
            summary="no expected rows to judge recovery by: give `expected:` rows or generated "
            "data (oracle)",
            properties=props,
        )
    props |= {
        "recovery_lost": str(lost),
        "recovery_duplicated": str(duplicated),
        "recovery_changed": str(changed),
    }
    exactly = sc.guarantee is Guarantee.EXACTLY_ONCE
    passed = lost == 0 and changed == 0 and (duplicated == 0 or not exactly)
    r = recovery.report
    timing = f", recovered in {r.seconds:.1f}s" if r.seconds is not None else ""
    return Outcome(
        name="recovery",
        passed=passed,
        summary=f"{sc.scenario.value} after {r.fired_after_records} records: {lost} lost, "
        f"{duplicated} duplicated, {changed} changed ({sc.guarantee.value}){timing}",
        measured=float(duplicated),
        properties=props,
    )

"""Restarts of a job that must survive, on FakeEngine: tolerated up to the limit, each timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctt.engines.base import FailureCause, JobFailure, Phase, StatementHandle, StatementStatus
from ctt.engines.fake import FakeEngine, FakeScript
from ctt.flinktest.reporting import to_junit
from ctt.flinktest.restarts import RestartWatch, TooManyRestarts
from ctt.report.model import ErrorKind, Status
from tests.unit.flinktest.test_runner import Harness, outputs, spec

LOST = FailureCause(
    exception="TaskManagerLostException", message="TaskManager lost", infrastructure=True
)
COLUMNS = {"out_t": [("id", "BIGINT"), ("name", "STRING")]}


def _script(**kw: object) -> FakeScript:
    return FakeScript(outputs=outputs(), columns=COLUMNS, failure=LOST, **kw)  # type: ignore[arg-type]


def _survives(arg: str) -> str:
    return f"    validation:\n      - rows_match: true\n      - job_survives: {arg}\n"


def test_a_job_that_restarts_once_within_the_limit_passes_and_is_timed(tmp_path: Path) -> None:
    h = Harness(_script(restart_at_polls=[2]))
    report = h.run(spec(tmp_path, extra=_survives("{max_restarts: 1, max_recovery_s: 60s}")))
    (result,) = report.tests
    assert result.status is Status.PASSED, (result.message, result.log)
    (restart,) = result.restarts
    assert restart.seconds is not None and restart.seconds >= 0
    assert restart.cause and "TaskManagerLostException" in restart.cause
    assert result.metrics["recoveries"] == 1
    assert result.metrics["recovery_s_max"] == round(restart.seconds, 3)
    survives = next(o for o in result.outcomes if o.name == "job_survives")
    assert "1 restart(s), time to recover" in survives.summary
    assert survives.properties["restart_1_recovery_s"] == f"{restart.seconds:.2f}"
    (suite,) = to_junit(report)
    props = suite.cases[0].properties
    assert "metric.recovery_s_max" in props and "restart_1_recovery_s" in props
    assert any("restart 1: TaskManagerLostException" in line for line in result.log)
    h.assert_clean()


def test_job_survives_true_still_fails_at_the_first_restart(tmp_path: Path) -> None:
    h = Harness(_script(restart_at_polls=[2]))
    (result,) = h.run(spec(tmp_path, extra=_survives("true"))).tests
    assert result.status is Status.ERROR and result.error_kind is ErrorKind.INFRA
    assert "TaskManagerLostException" in (result.message or "")


def test_one_restart_more_than_allowed_fails_at_once(tmp_path: Path) -> None:
    h = Harness(_script(restart_at_polls=[2, 5], complete=False))
    (result,) = h.run(
        spec(tmp_path, completion="quiet", extra=_survives("{max_restarts: 1}"))
    ).tests
    assert result.status is Status.FAILED and result.error_kind is ErrorKind.JOB_FAILED
    assert "restart 2, more than the 1 `job_survives` allows" in (result.message or "")
    assert len(result.restarts) == 2 and result.restarts[0].seconds is not None


def test_a_job_that_keeps_failing_is_failed_when_flink_gives_up_not_at_the_timeout(
    tmp_path: Path,
) -> None:
    cause = FailureCause(exception="ArithmeticException", message="/ by zero")
    script = FakeScript(
        outputs=outputs(), columns=COLUMNS, failure=cause, restart_at_polls=[2], complete=False
    )
    script.fail_after_polls = 6  # after one restart, the strategy is exhausted: FAILED
    h = Harness(script)
    (result,) = h.run(
        spec(tmp_path, completion="quiet", extra=_survives("{max_restarts: 3}"))
    ).tests
    assert result.status is Status.FAILED and result.error_kind is ErrorKind.JOB_FAILED
    assert "/ by zero" in (result.message or "")
    assert result.duration_s < 3  # the spec's timeout: FAILED was noticed at its poll
    assert len(result.restarts) == 1


def test_output_read_through_a_restart_is_complete(tmp_path: Path) -> None:
    """A quiet test does not stop reading while the job restarts."""
    h = Harness(_script(restart_at_polls=[3], restart_polls=6, complete=False))
    (result,) = h.run(
        spec(tmp_path, completion="quiet", extra=_survives("{max_restarts: 2}"))
    ).tests
    assert result.status is Status.PASSED, (result.message, result.log)
    assert result.records_out == {"out_t": 2}


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_watch_times_each_restart_from_flinks_failure_timestamp() -> None:
    engine = FakeEngine(FakeScript())
    handle = StatementHandle(name="j", sql="", job_id="job1")
    clock = _Clock()
    watch = RestartWatch(2, clock=clock)
    running = StatementStatus(phase=Phase.RUNNING)
    assert not watch.tolerates(StatementStatus(phase=Phase.PENDING), engine, handle)  # deploying
    assert not watch.tolerates(running, engine, handle)
    engine.history.append(JobFailure(at=90.0, cause=LOST))
    assert watch.tolerates(StatementStatus(phase=Phase.DEGRADED), engine, handle)
    assert watch.tolerates(StatementStatus(phase=Phase.PENDING), engine, handle)
    clock.now = 97.5
    assert not watch.tolerates(running, engine, handle)
    assert [r.seconds for r in watch.records] == [7.5]
    assert watch.metrics() == {
        "recoveries": 1,
        "recovery_s_min": 7.5,
        "recovery_s_median": 7.5,
        "recovery_s_max": 7.5,
    }
    assert not watch.tolerates(StatementStatus(phase=Phase.FAILED), engine, handle)


def test_restart_attempts_that_find_no_slot_are_one_recovery() -> None:
    """A lost TaskManager: Flink retries until a new one registers; ctt counts one recovery."""
    engine = FakeEngine(FakeScript())
    handle = StatementHandle(name="j", sql="", job_id="job1")
    clock = _Clock()
    watch = RestartWatch(1, clock=clock)
    watch.tolerates(StatementStatus(phase=Phase.RUNNING), engine, handle)
    assert watch.tolerates(StatementStatus(phase=Phase.DEGRADED), engine, handle)  # not written yet
    engine.history += [JobFailure(at=91.0, cause=LOST), JobFailure(at=93.0, cause=LOST)]
    watch.lost_slot(engine, handle)
    engine.history.append(JobFailure(at=95.0, cause=LOST))
    assert watch.tolerates(StatementStatus(phase=Phase.PENDING), engine, handle)
    clock.now = 101.0
    watch.tolerates(StatementStatus(phase=Phase.RUNNING), engine, handle)
    (r,) = watch.records
    assert (r.failed_at, r.failures, r.seconds) == (91.0, 3, 10.0)
    assert r.cause and "TaskManagerLostException" in r.cause
    engine.history.append(JobFailure(at=102.0, cause=LOST))  # between two polls
    with pytest.raises(TooManyRestarts):
        watch.finish(engine, handle)

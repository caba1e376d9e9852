"""State and recovery on the real stack: `state:` reaches the job, faults mid-stream lose nothing.

The recovery tests SIGKILL the TaskManager, which takes every job of the session cluster with
it: they run on a stack this test session started (as in `make test` and CI) or on one of your
own (CTT_STATE_DIR set), never on a developer's shared stack that the session merely found.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from ctt.flinktest.results import TestResult
from ctt.flinktest.runner import FlinkTestRunner
from ctt.report.model import Status
from ctt.stack.supervisor import LocalStack
from ctt.validate.registry import load_spec
from tests.integration.conftest import StackHandle

SPECS = Path(__file__).resolve().parents[2] / "specs"


def own_stack(stack: StackHandle) -> StackHandle:
    """The stack, if a test may kill its TaskManager; else skip, saying how to run the test."""
    if not (stack.owned or os.environ.get("CTT_STATE_DIR")):
        pytest.skip(
            "kills the TaskManager of a stack this session did not start: stop it, or set CTT_STATE_DIR"
        )
    return stack


def run(stack: StackHandle, spec: str, name: str | None = None) -> list[TestResult]:
    tests = [t for t in load_spec(SPECS / spec) if name is None or t.test.name == name]
    return FlinkTestRunner(stack.state).run(tests).tests


def outcome(result: TestResult, name: str) -> dict[str, str]:
    return next(o for o in result.outcomes if o.name == name).properties


def test_state_section_reaches_the_job_and_checkpoints_are_judged(stack: StackHandle) -> None:
    results = {r.name: r for r in run(stack, "state/checkpointing.yaml")}
    for r in results.values():
        assert r.status is Status.PASSED, (r.name, r.message, r.log)
        assert isinstance(r.metrics["checkpoints_completed"], int)
        assert r.metrics["checkpoints_completed"] >= 1
        assert r.metrics["checkpoints_failed"] == 0
    rocks = results["rocksdb_checkpoints"]
    assert rocks.metrics["checkpoints_completed"] >= 5  # min_checkpoints: ctt waited for them
    config = httpx.get(f"{stack.flink_rest_url}/jobs/{rocks.job_id}/checkpoints/config").json()
    assert config["state_backend"] == "EmbeddedRocksDBStateBackend"
    assert (config["mode"], config["interval"]) == ("exactly_once", 300)
    heap = results["hashmap_with_ttl"]
    config = httpx.get(f"{stack.flink_rest_url}/jobs/{heap.job_id}/checkpoints/config").json()
    assert config["state_backend"] == "HashMapStateBackend"
    assert config["mode"] == "at_least_once"


@pytest.mark.parametrize("name", ["kill_taskmanager_append", "kill_taskmanager_keyed_state"])
def test_killed_taskmanager_loses_and_duplicates_nothing(stack: StackHandle, name: str) -> None:
    (r,) = run(own_stack(stack), "../isolated-specs/recovery/kill_taskmanager.yaml", name)
    assert r.status is Status.PASSED, (r.message, r.log)
    props = outcome(r, "recovery")
    assert (props["recovery_lost"], props["recovery_duplicated"]) == ("0", "0")
    assert int(props["recovery_restarts"]) >= 1
    assert int(props["recovery_killed_pid"]) > 0
    assert float(props["recovery_seconds"]) > 0


def test_savepoint_resume_restores_keyed_state(stack: StackHandle) -> None:
    (r,) = run(own_stack(stack), "../isolated-specs/recovery/savepoint_resume.yaml")
    assert r.status is Status.PASSED, (r.message, r.log)
    props = outcome(r, "recovery")
    assert (props["recovery_lost"], props["recovery_changed"]) == ("0", "0")
    assert "savepoint" in props["recovery_savepoint"]
    assert props.get("recovery_restored_id") is not None


def test_a_job_that_survives_a_restart_passes_with_its_time_to_recover(
    stack: StackHandle,
) -> None:
    """job_survives with a restart budget: the TaskManager dies as the job starts consuming;
    the runner keeps going through Flink's restart, times the recovery and passes."""
    own = own_stack(stack)
    faults = LocalStack()
    killed: list[int] = []

    def kill_when_input_starts(_test: str, phase: str) -> None:
        if phase == "producing input" and not killed:
            killed.append(faults.kill("taskmanager"))
            faults.restart("taskmanager")

    tests = load_spec(SPECS.parent / "isolated-specs/recovery/survives_restart.yaml")
    (r,) = FlinkTestRunner(own.state, listener=kill_when_input_starts).run(tests).tests
    assert killed, r.log
    assert r.status is Status.PASSED, (r.message, r.log)
    (restart,) = r.restarts
    assert restart.seconds is not None and restart.seconds > 0
    assert restart.failures >= 1 and restart.cause
    assert r.metrics["recoveries"] == 1
    assert float(r.metrics["recovery_s_max"] or 0) > 0
    survives = outcome(r, "job_survives")
    assert float(survives["restart_1_recovery_s"]) == pytest.approx(restart.seconds, abs=0.01)


@pytest.mark.parametrize("name", ["restart_jobmanager_append", "restart_jobmanager_keyed_state"])
def test_a_jobmanager_restart_resubmits_from_the_retained_checkpoint(
    stack: StackHandle, name: str
) -> None:
    (r,) = run(own_stack(stack), "../isolated-specs/recovery/restart_jobmanager.yaml", name)
    assert r.status is Status.PASSED, (r.message, r.log)
    props = outcome(r, "recovery")
    assert (props["recovery_lost"], props["recovery_duplicated"]) == ("0", "0")
    assert "/chk-" in props["recovery_restored_from"]
    assert int(props["recovery_restored_id"]) >= int(props["recovery_checkpoint_id"])
    assert float(props["recovery_seconds"]) > 0
    assert httpx.get(f"{stack.flink_rest_url}/overview").json()["taskmanagers"] >= 1


def test_a_savepoint_restores_into_a_compatibly_changed_sql(stack: StackHandle) -> None:
    (r,) = run(own_stack(stack), "../isolated-specs/recovery/savepoint_resume_changed.yaml")
    assert r.status is Status.PASSED, (r.message, r.log)
    props = outcome(r, "recovery")
    assert (props["recovery_lost"], props["recovery_changed"]) == ("0", "0")
    assert props["recovery_resumed_with"].endswith("savepoint_resume_changed.yaml:43")
    assert props.get("recovery_restored_id") is not None


def test_a_change_the_state_cannot_take_fails_with_flinks_reason(
    stack: StackHandle, tmp_path: Path
) -> None:
    """COUNT(DISTINCT ...) keeps the plan's shape but not the aggregate's state type."""
    src = SPECS.parent / "isolated-specs/recovery/savepoint_resume_changed.yaml"
    spec = tmp_path / "incompatible.yaml"
    spec.write_text(
        src.read_text().replace(
            "SELECT user_id, COUNT(*) AS payments, SUM(amount) AS total\n        FROM payments WHERE",
            "SELECT user_id, COUNT(DISTINCT payment_id) AS payments, SUM(amount) AS total\n"
            "        FROM payments WHERE",
        )
    )
    assert "DISTINCT" in spec.read_text()
    tests = load_spec(spec)
    (r,) = FlinkTestRunner(own_stack(stack).state).run(tests).tests
    assert r.status is Status.FAILED, (r.message, r.log)
    assert f"resume_sql ({spec}:43) could not restore the job's state" in (r.message or "")
    assert "StateMigrationException" in (r.message or "")  # Flink's reason, not a guess

"""`recovery.resume_sql` on FakeEngine: planned in a session of its own before the job runs,
its mistakes reported at its lines in the spec, and every session closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctt.config.state import RecoveryScenario
from ctt.engines.fake import FakeScript
from ctt.errors import ConfigError
from ctt.report.model import ErrorKind, Status
from tests.unit.flinktest.test_runner import Harness, outputs, spec

COLUMNS = {"out_t": [("id", "BIGINT"), ("name", "STRING")]}


def _resume(sql: str) -> str:
    body = "".join(f"        {line}\n" for line in sql.splitlines())
    return (
        "    recovery:\n"
        "      scenario: stop_with_savepoint_and_resume\n"
        "      after_records: 1\n"
        "      resume_sql: |\n" + body
    )


def test_resume_sql_that_flink_rejects_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    h = Harness(FakeScript(outputs=outputs(), columns=COLUMNS, reject_sql="no_such_col"))
    extra = _resume("CREATE TABLE out_t AS\nSELECT id, no_such_col AS name FROM src;")
    (result,) = h.run(spec(tmp_path, extra=extra)).tests
    assert result.status is Status.ERROR and result.error_kind is ErrorKind.CONFIG
    assert "t.yaml:28:9" in (result.message or ""), result.message  # in resume_sql
    assert "Flink rejected the SQL" in (result.message or "")
    assert len(h.engines) == 2  # the test's session and the resume's, both closed, no job run
    assert all(e.submitted == [] and e.closed for e in h.engines)
    assert h.kafka.topics == {}


def test_resume_sql_writing_another_table_is_refused_before_the_job_runs(tmp_path: Path) -> None:
    h = Harness(FakeScript(outputs=outputs(), columns=COLUMNS))
    extra = _resume("CREATE TABLE other_t AS\nSELECT id, name FROM src;")
    (result,) = h.run(spec(tmp_path, extra=extra)).tests
    assert result.status is Status.ERROR and result.error_kind is ErrorKind.CONFIG
    message = result.message or ""
    assert "resume_sql must write the tables and columns flink_sql writes" in message
    assert "(out_t); it writes other_t" in message and "t.yaml:27" in message, message
    assert all(e.submitted == [] and e.closed for e in h.engines)


def test_resume_sql_needs_a_scenario_that_resubmits_the_job(tmp_path: Path) -> None:
    extra = _resume("CREATE TABLE out_t AS\nSELECT id, name FROM src;").replace(
        "stop_with_savepoint_and_resume", "kill_taskmanager"
    )
    with pytest.raises(ConfigError, match="need a scenario that resubmits the job") as err:
        spec(tmp_path, extra=extra)
    assert "t.yaml:23" in err.value.location, err.value.location


def test_state_may_be_dropped_only_when_the_spec_says_so() -> None:
    sc = RecoveryScenario.model_validate(
        {"scenario": "restart_jobmanager", "after_records": 1, "resume_sql": "x"}
    )
    assert sc.resume_options("/cp/chk-3") == {"execution.state-recovery.path": "/cp/chk-3"}
    dropping = sc.model_copy(update={"allow_non_restored_state": True})
    assert dropping.resume_options("/sp")["execution.state-recovery.ignore-unclaimed-state"] == "true"

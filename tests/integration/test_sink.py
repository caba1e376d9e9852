"""sink: on the real stack: Flink -> transformed topic -> Debezium JDBC sink -> PostgreSQL.

The shipped specs pass (append and upsert), a connector task that cannot write (a
pre-created table with a column of the wrong type) fails its test with the task's trace,
and a Ctrl-C to a real ``ctt run`` leaves no connector, topic or table behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ctt.flinktest.runner import FlinkTestRunner
from ctt.kafka import naming
from ctt.kafka.admin import TopicAdmin
from ctt.polling import Backoff
from ctt.report.model import ErrorKind, Status
from ctt.sink.connect import ConnectClient
from ctt.sink.connector import names
from ctt.sink.postgres import PostgresTarget
from ctt.stack import paths
from ctt.validate.registry import load_spec
from tests.integration.conftest import StackHandle

pytestmark = pytest.mark.integration

SPECS = Path(__file__).resolve().parents[2] / "specs" / "sink"
ROOT = SPECS.parents[1]


def _run(stack: StackHandle, spec: Path, **kwargs: object) -> dict[str, object]:
    report = FlinkTestRunner(stack.state, **kwargs).run(load_spec(spec))  # type: ignore[arg-type]
    return {t.name: t for t in report.tests}


def _passed(result: object) -> None:
    assert result.status is Status.PASSED, (  # type: ignore[attr-defined]
        result.message,  # type: ignore[attr-defined]
        [o.details for o in result.outcomes if not o.passed],  # type: ignore[attr-defined]
        result.log,  # type: ignore[attr-defined]
    )


def test_the_append_spec_lands_every_row_with_its_types(connect_stack: StackHandle) -> None:
    results = _run(connect_stack, SPECS / "user_events_to_postgres.yaml")
    append = results["user_events_transformed_to_postgres"]
    _passed(append)
    outcomes = {o.name: o for o in append.outcomes}  # type: ignore[attr-defined]
    assert outcomes["sink_no_data_loss"].properties["target_rows"] == "4"
    assert outcomes["sink_dlq_routing"].measured == 2.0
    latency = results["user_events_end_to_end_latency"]
    _passed(latency)
    e2e = {o.name: o for o in latency.outcomes}["end_to_end_latency"]  # type: ignore[attr-defined]
    assert int(e2e.properties["e2e_samples"]) >= 200


def test_the_upsert_spec_ends_with_the_final_rows(connect_stack: StackHandle) -> None:
    (result,) = _run(connect_stack, SPECS / "hourly_spend_upsert.yaml").values()
    _passed(result)
    outcomes = {o.name: o for o in result.outcomes}  # type: ignore[attr-defined]
    # user 2's hour was retracted (a tombstone, then a DELETE): 3 rows, not 4
    assert outcomes["sink_no_data_loss"].properties["target_rows"] == "3"


def test_nested_rows_land_as_json_and_as_flattened_columns(connect_stack: StackHandle) -> None:
    results = _run(connect_stack, SPECS / "nested_to_postgres.yaml")
    for result in results.values():
        _passed(result)


WRONG_TYPE = """flink_transformation_tests:
  wrong_column_type:
    flink_sql: |
      CREATE TABLE amounts AS SELECT user_id, amount FROM src;
    tables:
      src:
        schema: {user_id: BIGINT, amount: "DECIMAL(10, 2)"}
    test_data:
      src:
        rows: [{user_id: 1, amount: 2.50}, {user_id: 2, amount: 3.75}]
    expected:
      amounts:
        rows: [{user_id: 1, amount: 2.50}, {user_id: 2, amount: 3.75}]
    sink: {table: amounts}
    timeout: 120
"""


def test_a_task_that_cannot_write_fails_the_test_with_its_trace(
    connect_stack: StackHandle, tmp_path: Path
) -> None:
    spec = tmp_path / "wrong.yaml"
    spec.write_text(WRONG_TYPE)
    (lt,) = load_spec(spec)
    run_id = naming.new_run_id()
    assert lt.test.sink is not None
    table = names(
        lt.test.sink,
        run_id=run_id,
        scope=naming.test_scope(str(spec), lt.test.name),
        output="amounts",
    ).table
    pg = PostgresTarget(connect_stack.state.require_postgres())
    pg.execute(f'CREATE TABLE "{table}" (user_id date, amount numeric(10,2))')
    try:
        (result,) = _run(connect_stack, spec, run_id=run_id).values()
    finally:
        pg.drop(table)
    assert result.status is Status.FAILED, (result.message, result.log)  # type: ignore[attr-defined]
    assert result.error_kind is ErrorKind.JOB_FAILED  # type: ignore[attr-defined]
    message = result.message or ""  # type: ignore[attr-defined]
    assert "sink connector ctt." in message and "FAILED" in message
    assert "user_id" in message or "date" in message, message  # PostgreSQL's complaint
    assert any("sink connector failed:" in line for line in result.log)  # type: ignore[attr-defined]


def _wait_for(what: str, probe: object, deadline: float) -> object:
    backoff = Backoff(0.5)
    while True:
        value = probe()  # type: ignore[operator]
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        backoff.wait()


def test_ctrl_c_leaves_no_connector_topic_or_table(connect_stack: StackHandle) -> None:
    state = connect_stack.state
    connect = ConnectClient(state.require_connect())
    pg = PostgresTarget(state.require_postgres())
    before = set(connect.names())
    env = {**os.environ, "CTT_STATE_DIR": str(paths.state_dir())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctt", "run", str(SPECS / "hourly_spend_upsert.yaml")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        new = _wait_for(
            "the run's connector",
            lambda: [n for n in connect.names() if n not in before and n.startswith("ctt.")],
            deadline,
        )
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    (name,) = new  # type: ignore[misc]
    run_id = name.split(".")[1]
    assert name not in connect.names()
    assert pg.tables("hourly_spend_") == []
    topics = TopicAdmin(state.bootstrap_servers).list()
    assert [t for t in topics if f".{run_id}." in t] == []
    connect.close()


def test_ctt_cleanup_removes_an_old_runs_connector_and_its_table(
    connect_stack: StackHandle,
) -> None:
    """What a SIGKILLed run leaves (no cleanup ran): ``ctt cleanup`` finds it by its run id."""
    state = connect_stack.state
    connect = ConnectClient(state.require_connect())
    pg = PostgresTarget(state.require_postgres())
    name, table = "ctt.20200101t000000-abcdef.left-behind", "left_behind_0123456789"
    pg.execute(f'CREATE TABLE "{table}" (id bigint)')
    connect.create(
        name,
        {
            "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
            "topics": "ctt.20200101t000000-abcdef.left-behind.out",
            "connection.url": state.postgres_jdbc_url or "",
            "connection.username": "ctt",
            "connection.password": "ctt",
            "collection.name.format": table,
        },
    )
    env = {**os.environ, "CTT_STATE_DIR": str(paths.state_dir())}
    proc = subprocess.run(
        [sys.executable, "-m", "ctt", "cleanup", "--older-than", "1h"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 sink connector(s) and 1 table(s)" in proc.stdout + proc.stderr
    assert name not in connect.names()
    assert pg.tables("left_behind_") == []
    connect.close()

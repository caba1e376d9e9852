"""The connector's run-scoped names and settings, and Connect's status answers."""

from __future__ import annotations

from ctt.config.sink import SinkConfig
from ctt.sink.connect import ConnectorStatus, SinkFailed, State
from ctt.sink.connector import FLATTEN, Endpoints, connector_config, names

ENDS = Endpoints(connect_url="http://c", jdbc_url="jdbc:postgresql://h:1/ctt")


def test_names_carry_the_run_and_fit_postgres() -> None:
    sink = SinkConfig(table="user_events", dead_letter_topic=True)
    n = names(sink, run_id="20261203t080000-abcdef", scope="t-123456", output="o")
    assert n.connector == "ctt.20261203t080000-abcdef.t-123456"
    assert n.table.startswith("user_events_") and len(n.table) <= 63
    assert n.dead_letter_topic == "ctt.20261203t080000-abcdef.t-123456.sink-dlq"
    other = names(sink, run_id="20261203t080000-000000", scope="t-123456", output="o")
    assert other.table != n.table


def test_upsert_settings_key_the_table_and_delete_on_tombstones() -> None:
    sink = SinkConfig(
        mode="upsert",
        primary_key=["user_id", "window_start"],
        delete_on_tombstone=True,
        nested="flatten",
        dead_letter_topic=True,
        config={"batch.size": "7"},
    )
    n = names(sink, run_id="r", scope="s", output="o")
    cfg = connector_config(sink, topic="topic", names=n, endpoints=ENDS)
    assert cfg["insert.mode"] == "upsert" and cfg["primary.key.mode"] == "record_key"
    assert cfg["primary.key.fields"] == "user_id,window_start"
    assert cfg["delete.enabled"] == "true"
    assert cfg["key.converter.schemas.enable"] == "true"
    assert cfg["transforms.flatten.type"] == FLATTEN
    assert cfg["errors.tolerance"] == "all"
    assert cfg["errors.deadletterqueue.topic.name"] == n.dead_letter_topic
    assert cfg["collection.name.format"] == n.table and cfg["topics"] == "topic"
    assert cfg["batch.size"] == "7"


def test_insert_settings_need_no_key() -> None:
    sink = SinkConfig(schemas=False)
    cfg = connector_config(
        sink, topic="t", names=names(sink, run_id="r", scope="s", output="o"), endpoints=ENDS
    )
    assert cfg["primary.key.mode"] == "none"
    assert cfg["value.converter.schemas.enable"] == "false"
    assert "errors.tolerance" not in cfg and "transforms" not in cfg


def test_a_failed_task_is_found_with_its_trace() -> None:
    st = ConnectorStatus.from_api(
        {
            "name": "c",
            "connector": {"state": "RUNNING", "worker_id": "w"},
            "tasks": [
                {"id": 0, "state": "FAILED", "worker_id": "w", "trace": "org.x.Boom: no\n\tat a"}
            ],
        }
    )
    assert not st.running
    task = st.failed
    assert task is not None and task.state is State.FAILED
    err = SinkFailed("c", task)
    assert "task 0 FAILED: org.x.Boom: no" in str(err) and err.trace.endswith("at a")
    assert err.exit_code == 1


def test_a_running_connector_has_every_task_running() -> None:
    st = ConnectorStatus.from_api(
        {"name": "c", "connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}
    )
    assert st.running and st.failed is None
    assert not ConnectorStatus.from_api({"name": "c", "connector": {"state": "RUNNING"}}).running


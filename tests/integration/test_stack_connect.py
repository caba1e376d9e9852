"""Kafka Connect and PostgreSQL in the local stack (`ctt stack up --with connect,postgres`).

Real processes: a Connect worker in distributed mode with Debezium's JDBC sink, a PostgreSQL
server, and a connector that writes a topic into a table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from ctt.commands import stack as commands
from ctt.kafka.admin import TopicAdmin
from ctt.polling import Backoff
from ctt.stack import connect, postgres
from ctt.stack.settings import Extra, StackSettings
from ctt.stack.supervisor import LocalStack
from tests.integration.conftest import StackHandle

pytestmark = pytest.mark.integration

ROW_SCHEMA = {
    "type": "struct",
    "name": "ctt_it_row",
    "optional": False,
    "fields": [
        {"field": "id", "type": "int32", "optional": False},
        {"field": "name", "type": "string", "optional": True},
        {"field": "amount", "type": "double", "optional": True},
    ],
}


def test_status_shows_connect_and_postgres_healthy(connect_stack: StackHandle) -> None:
    doc = commands.current_status()
    assert doc.running and doc.healthy
    by_name = {c.name: c for c in doc.components}
    assert {"connect", "postgres"} <= set(by_name)
    assert by_name["connect"].port == connect_stack.ports.connect and by_name["connect"].healthy
    assert by_name["connect"].version == connect_stack.kafka_version
    assert by_name["postgres"].port == connect_stack.ports.postgres and by_name["postgres"].healthy
    assert by_name["postgres"].version.split(".")[0].isdigit()
    assert doc.connect_url == connect_stack.connect_url
    assert doc.postgres_dsn == connect_stack.postgres_dsn


def test_cli_up_with_extras_on_the_running_stack_is_a_no_op(connect_stack: StackHandle) -> None:
    """`ctt stack up --with connect,postgres` again: nothing new starts, and `status --json` agrees."""
    env = {**os.environ, "CTT_STACK_WITH": "postgres,connect"}
    up = subprocess.run([sys.executable, "-m", "ctt", "stack", "up"], capture_output=True, text=True,
                        env=env, timeout=120, check=False)
    assert up.returncode == 0, up.stderr
    assert "nothing to do" in up.stdout + up.stderr
    status = subprocess.run([sys.executable, "-m", "ctt", "stack", "status", "--json"],
                            capture_output=True, text=True, timeout=120, check=False)
    doc = json.loads(status.stdout)
    assert doc["healthy"] and doc["connect_url"] == connect_stack.connect_url
    pids = {c["name"]: c["pid"] for c in doc["components"]}
    assert pids["connect"] == connect_stack.components["connect"].pid
    assert pids["postgres"] == connect_stack.components["postgres"].pid


def test_connect_lists_the_jdbc_sink_and_postgres_answers_a_query(connect_stack: StackHandle) -> None:
    plugins = httpx.get(f"{connect_stack.require_connect()}/connector-plugins", timeout=10).json()
    assert connect.JDBC_SINK_CLASS in {p["class"] for p in plugins}
    with psycopg.connect(connect_stack.require_postgres()) as conn:
        row = conn.execute("SELECT current_database(), current_user, 1 + 1").fetchone()
    assert row == ("ctt", "ctt", 2)


def _produce_with_schema(bootstrap: str, topic: str, rows: list[dict[str, object]]) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for row in rows:
        p.produce(topic, json.dumps({"schema": ROW_SCHEMA, "payload": row}).encode())
    assert p.flush(30) == 0


def _rows(dsn: str, table: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        if exists is None or exists[0] is None:
            return []
        return conn.execute(f'SELECT id, name, amount FROM "{table}" ORDER BY id').fetchall()


def test_jdbc_sink_writes_a_topic_into_a_postgres_table(connect_stack: StackHandle) -> None:
    url, dsn = connect_stack.require_connect(), connect_stack.require_postgres()
    suffix = uuid.uuid4().hex[:8]
    topic, table, name = f"ctt-it-sink-{suffix}", f"ctt_it_sink_{suffix}", f"ctt-it-sink-{suffix}"
    admin = TopicAdmin(connect_stack.bootstrap_servers)
    admin.create({topic: 1})
    rows = [{"id": i, "name": f"user-{i}", "amount": i * 1.5} for i in range(3)]
    try:
        _produce_with_schema(connect_stack.bootstrap_servers, topic, rows)
        config = {
            "connector.class": connect.JDBC_SINK_CLASS,
            "tasks.max": "1",
            "topics": topic,
            "connection.url": connect_stack.postgres_jdbc_url,
            "connection.username": "ctt",
            "connection.password": "",
            "insert.mode": "insert",
            "primary.key.mode": "none",
            "schema.evolution": "basic",
            "collection.name.format": table,
        }
        created = httpx.put(f"{url}/connectors/{name}/config", json=config, timeout=60)
        assert created.status_code == 201, created.text
        deadline = time.monotonic() + 90
        backoff = Backoff(1.0)
        got: list[tuple[object, ...]] = []
        while time.monotonic() < deadline and len(got) < 3:
            status = httpx.get(f"{url}/connectors/{name}/status", timeout=10).json()
            failed = [t for t in status.get("tasks", []) if t.get("state") == "FAILED"]
            assert not failed, failed[0].get("trace", "")[:2000]
            got = _rows(dsn, table)
            backoff.wait()
        assert got == [(0, "user-0", 0.0), (1, "user-1", 1.5), (2, "user-2", 3.0)]
    finally:
        httpx.delete(f"{url}/connectors/{name}", timeout=60)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        admin.delete([topic])
    assert name not in httpx.get(f"{url}/connectors", timeout=10).json()


def test_own_stack_with_extras_comes_up_and_down_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stack: StackHandle
) -> None:
    """A second stack in its own state dir: up with both extras, then down stops every
    process (Connect and PostgreSQL included) and removes the run and data directories."""
    monkeypatch.setenv("CTT_STATE_DIR", str(tmp_path / "state"))
    sup = LocalStack(StackSettings(slots=1, extras=frozenset({Extra.CONNECT, Extra.POSTGRES})))
    st, started = sup.up()
    try:
        assert started and {"connect", "postgres"} <= set(st.components)
        assert st.postgres is not None
        data_dir = st.postgres.data_dir
        assert postgres.initialized(data_dir)
        procs = [psutil.Process(c.pid) for c in st.components.values()]
        children = [ch for p in procs for ch in p.children(recursive=True)]
        assert any(ch.name() == "postgres" for ch in children), "the postmaster has no backends"
    finally:
        sup.down()
    _gone, alive = psutil.wait_procs([*procs, *children], timeout=10)
    assert not alive, [p.pid for p in alive]
    assert not data_dir.exists() and not st.run_dir.exists()
    assert LocalStack().current() is None

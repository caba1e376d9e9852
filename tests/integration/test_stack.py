"""The stack's clients against the real stack: Kafka round trip, a Flink SQL job, stop with savepoint."""

from __future__ import annotations

import json
import time
import uuid

from ctt.commands import stack as commands
from ctt.engines.flink_rest import FlinkRest
from ctt.engines.local import LocalEngine
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.consume import TopicReader
from ctt.stack import health, warmup
from tests.integration.conftest import StackHandle


def _produce(bootstrap: str, topic: str, values: list[dict[str, object]]) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for v in values:
        p.produce(topic, json.dumps(v).encode())
    assert p.flush(30) == 0


def test_status_names_every_component_with_pid_port_version_health(stack: StackHandle) -> None:
    doc = commands.current_status()
    assert doc.running and doc.healthy
    by_name = {c.name: c for c in doc.components}
    # connect and postgres join when a test asked for them (the connect_stack fixture)
    assert set(by_name) - {"connect", "postgres"} == {"kafka", "jobmanager", "taskmanager", "sql-gateway"}
    for comp in doc.components:
        assert comp.pid > 0 and comp.alive and comp.healthy and comp.version
    assert by_name["kafka"].port == stack.ports.kafka
    assert by_name["sql-gateway"].version == stack.flink_version


def test_topic_created_and_json_round_trip(stack: StackHandle) -> None:
    admin = TopicAdmin(stack.bootstrap_servers)
    topic = f"ctt-it-{uuid.uuid4().hex[:8]}"
    admin.create({topic: 2})
    try:
        assert admin.list()[topic] == 2
        values = [{"n": i, "name": f"x{i}"} for i in range(20)]
        _produce(stack.bootstrap_servers, topic, values)
        reader = TopicReader(stack.bootstrap_servers, [topic])
        assert reader.read_until(lambda r: len(r) >= 20, deadline_s=30, quiet_s=10)
        reader.close()
        assert sorted(json.loads(r.value or b"")["n"] for r in reader.records) == list(range(20))
    finally:
        admin.delete([topic])
    assert topic not in admin.list()


def test_insert_select_through_gateway_then_stop_with_savepoint(stack: StackHandle) -> None:
    admin = TopicAdmin(stack.bootstrap_servers)
    src, dst = (f"ctt-it-{uuid.uuid4().hex[:8]}-{s}" for s in ("src", "dst"))
    admin.create({src: 1, dst: 1})
    engine = LocalEngine(stack.gateway_url, stack.flink_rest_url)
    try:
        for name, topic in (("src", src), ("dst", dst)):
            engine.run(
                f"CREATE TABLE {name} (id INT, word STRING) WITH ('connector'='kafka', 'topic'='{topic}',"
                f" 'properties.bootstrap.servers'='{stack.bootstrap_servers}',"
                " 'scan.startup.mode'='earliest-offset', 'format'='json')"
            )
        handle = engine.submit("INSERT INTO dst SELECT id * 10, UPPER(word) FROM src", name="ctt-it-job")
        assert handle.job_id
        _produce(stack.bootstrap_servers, src, [{"id": i, "word": w} for i, w in enumerate(["a", "b", "c"])])
        reader = TopicReader(stack.bootstrap_servers, [dst])
        assert reader.read_until(lambda r: len(r) >= 3, deadline_s=60, quiet_s=30)
        reader.close()
        got = sorted((json.loads(r.value or b"")["id"], json.loads(r.value or b"")["word"]) for r in reader.records)
        assert got == [(0, "A"), (10, "B"), (20, "C")]

        location = engine.stop(handle, savepoint=True)
        assert location and "savepoint" in location
        rest = FlinkRest(stack.flink_rest_url)
        deadline = time.monotonic() + 60
        while rest.state(handle.job_id) != "FINISHED" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rest.state(handle.job_id) == "FINISHED"
        assert rest.checkpoints(handle.job_id)["counts"]["completed"] >= 1
    finally:
        engine.close()
        admin.delete([src, dst])


def test_health_checks_fail_fast_on_dead_endpoints() -> None:
    assert not health.gateway_ready("http://127.0.0.1:9")
    assert not health.flink_ready("http://127.0.0.1:9")


def test_the_warm_up_runs_a_kafka_job_to_its_end_and_leaves_no_topic(stack: StackHandle) -> None:
    said = warmup.warm_up(stack.state)
    assert said.startswith("gateway and TaskManager warmed up in"), said
    rest = FlinkRest(stack.flink_rest_url)
    try:
        ours = [j for j in rest.jobs() if j.get("name") == "ctt-warmup"]
    finally:
        rest.close()
    assert ours and all(j["state"] == "FINISHED" for j in ours), ours
    assert warmup.TOPIC not in TopicAdmin(stack.bootstrap_servers).list()

"""The generator against a real broker: ground truth matches the topic; a broker restart loses and duplicates nothing.

Uses the session fixture ``stack`` (tests/integration/conftest.py). Where it is
not available yet, a private single-node KRaft broker is started from the
cached Kafka jars, so restarting it disturbs nobody else's tests.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from ctt.config.datagen import FieldSpec, GeneratorConfig, Malformed, TableShape
from ctt.datagen.generate import generate
from ctt.datagen.ground_truth import GroundTruthHeader, GroundTruthWriter, read_ground_truth
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.produce import DeliveryFailed, Progress, RateSchedule, produce

pytestmark = pytest.mark.integration

TABLE = TableShape(
    name="orders",
    columns=[
        ("order_id", "BIGINT NOT NULL"),
        ("user_id", "BIGINT"),
        ("product_id", "STRING"),
        ("amount", "DECIMAL(10, 2)"),
        ("ts", "TIMESTAMP(3)"),
    ],
    key_columns=["user_id"],
    event_time="ts",
    watermark_delay_s=5,
    partitions=3,
)
SEQUENCE = {"order_id": FieldSpec(type="sequence")}


class _PrivateKafka:
    """A throwaway KRaft broker (used only when the shared ``stack`` fixture is missing)."""

    def __init__(self, libs: Path, root: Path) -> None:
        self.kafka_libs = libs
        self.root = root
        port, ctrl = _free_port(), _free_port()
        self.bootstrap_servers = f"127.0.0.1:{port}"
        self.conf = root / "server.properties"
        self.conf.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{ctrl}",
                    f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctrl}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={root / 'data'}",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                ]
            )
            + "\n"
        )
        java = shutil.which("java") or "java"
        self.base = [java, "-Xmx384m", "-cp", f"{libs}/*"]
        subprocess.run(
            [
                *self.base,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
                "-c",
                str(self.conf),
            ],
            check=True,
            capture_output=True,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        log = (self.root / "kafka.log").open("ab")
        self.proc = subprocess.Popen(
            [*self.base, "kafka.Kafka", str(self.conf)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                TopicAdmin(self.bootstrap_servers, timeout_s=2).list()
                return
            except Exception:
                time.sleep(0.5)  # polling the broker's readiness with a deadline
        raise RuntimeError("private Kafka did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None

    def restart_kafka(self) -> None:
        self.stop()
        self.start()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cached_kafka_libs() -> Path | None:
    from ctt.stack import artifacts

    try:
        libs = artifacts.layout().kafka_libs
    except Exception:
        return None
    return libs if libs.is_dir() else None


@pytest.fixture(scope="module")
def kafka(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    try:
        yield request.getfixturevalue("stack")
        return
    except pytest.FixtureLookupError:
        pass
    libs = _cached_kafka_libs()
    if libs is None or shutil.which("java") is None:
        pytest.skip("no `stack` fixture and no cached Kafka jars (run `ctt stack fetch`)")
    broker = _PrivateKafka(libs, tmp_path_factory.mktemp("kafka"))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def topic(kafka: Any) -> Iterator[str]:
    name = f"ctt-datagen-it-{uuid.uuid4().hex[:8]}"
    admin = TopicAdmin(kafka.bootstrap_servers)
    admin.create({name: TABLE.partitions}, config={"retention.ms": "-1"})
    yield name
    admin.delete([name])


def _consume_all(
    bootstrap: str, topic: str, partitions: int
) -> dict[tuple[int, int], tuple[bytes | None, bytes, int]]:
    """(partition, offset) -> (key, value, timestamp) of every record in the topic."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"ctt-it-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_uncommitted",
        }
    )
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in range(partitions)
    }
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out: dict[tuple[int, int], tuple[bytes | None, bytes, int]] = {}
    deadline = time.monotonic() + 120
    try:
        while sum(ends.values()) > len(out) and time.monotonic() < deadline:
            for msg in consumer.consume(10_000, timeout=1.0):
                if msg.error() is None:
                    out[(msg.partition(), msg.offset())] = (
                        msg.key(),
                        msg.value(),
                        msg.timestamp()[1],
                    )
    finally:
        consumer.close()
    return out


def _header(cfg: GeneratorConfig, topic: str) -> GroundTruthHeader:
    return GroundTruthHeader(
        table=TABLE.name,
        topic=topic,
        seed=cfg.seed,
        partitions=TABLE.partitions,
        format=cfg.format.value,
        watermark_delay_ms=5000,
        event_time_column="ts",
    )


def test_ground_truth_is_what_the_topic_holds(kafka: Any, topic: str, tmp_path: Path) -> None:
    cfg = GeneratorConfig(
        count=3000,
        keys=40,
        fields=SEQUENCE,
        late_data_percentage="5%",
        out_of_orderness=2,
        malformed=Malformed(share="2%"),
        headers={"source": "ctt-it"},
    )
    gt_path = tmp_path / "gt.jsonl"
    report = produce(
        generate(TABLE, cfg),
        topic,
        kafka.bootstrap_servers,
        ground_truth=GroundTruthWriter(gt_path, _header(cfg, topic)),
    )
    assert report.ok and report.delivered == 3003
    assert report.late == 150 and report.malformed == 60 and report.closing == 3
    _, rows = read_ground_truth(gt_path)
    consumed = _consume_all(kafka.bootstrap_servers, topic, TABLE.partitions)
    assert len(consumed) == len(rows) == 3003
    for row in rows:
        assert row.offset is not None
        key, value, ts = consumed[(row.partition, row.offset)]
        assert value == row.raw_value()
        assert (key or b"").decode() == row.key
        assert ts == row.event_time_ms  # Kafka record timestamps carry event time


def test_undelivered_records_fail_the_run_with_a_count(kafka: Any) -> None:
    missing = f"ctt-datagen-missing-{uuid.uuid4().hex[:8]}"
    cfg = GeneratorConfig(count=20)
    with pytest.raises(DeliveryFailed) as err:
        produce(
            generate(TABLE, cfg),
            missing,
            kafka.bootstrap_servers,
            producer_config={"message.timeout.ms": 3000},
            flush_timeout_s=30,
        )
    assert "23 of 23 records were not delivered" in str(err.value)
    assert err.value.exit_code == 3


def test_broker_restart_loses_and_duplicates_nothing(
    kafka: Any, topic: str, tmp_path: Path
) -> None:
    total = 40_000
    cfg = GeneratorConfig(count=total, keys=200, fields=SEQUENCE)
    halfway = threading.Event()
    result: dict[str, Any] = {}

    def on_progress(p: Progress) -> None:
        if p.delivered >= total // 4:
            halfway.set()

    def run() -> None:
        try:
            result["report"] = produce(
                generate(TABLE, cfg),
                topic,
                kafka.bootstrap_servers,
                ground_truth=GroundTruthWriter(tmp_path / "gt.jsonl", _header(cfg, topic)),
                rate=RateSchedule(8000),
                progress=on_progress,
                progress_every_s=0.1,
            )
        except Exception as exc:  # reported to the test thread
            result["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    assert halfway.wait(timeout=120), "production did not get going"
    kafka.restart_kafka()
    worker.join(timeout=600)
    assert not worker.is_alive()
    assert "error" not in result, result.get("error")
    report = result["report"]
    assert report.ok and report.delivered == total + TABLE.partitions
    assert report.errors, "the broker restart went unnoticed by the producer"
    consumed = _consume_all(kafka.bootstrap_servers, topic, TABLE.partitions)
    import json

    ids = [json.loads(v)["order_id"] for _, v, _ in consumed.values()]
    real = [i for i in ids if i <= total]  # closing events continue the sequence
    assert len(real) == total, (
        f"{total - len(set(real))} lost, {len(real) - len(set(real))} duplicated"
    )
    assert sorted(real) == list(range(1, total + 1))
    _, rows = read_ground_truth(tmp_path / "gt.jsonl")
    assert {(r.partition, r.offset) for r in rows} == set(consumed)


def test_cli_generate_json_stats(kafka: Any, topic: str, tmp_path: Path) -> None:
    env = {**os.environ, "CI": "1"}
    proc = subprocess.run(
        [
            "uv",
            "run",
            "ctt",
            "generate",
            "--topic",
            topic,
            "--count",
            "500",
            "--json",
            "--bootstrap-servers",
            kafka.bootstrap_servers,
            "--ground-truth",
            str(tmp_path / "gt.jsonl"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    stats = json.loads(proc.stdout)
    assert stats["delivered"] == stats["sent"] == 503 and stats["errors"] == 0
    assert len(read_ground_truth(tmp_path / "gt.jsonl")[1]) == 503

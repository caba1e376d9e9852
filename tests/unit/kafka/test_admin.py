"""Topic administration against a broker that does not answer or refuses TLS: a KafkaError with its cause."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctt.kafka.admin import KafkaError, TopicAdmin
from ctt.stack import certs
from tests.tls import TlsServer, tls_server


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("action", ["create", "delete"])
def test_an_unanswered_request_is_a_kafka_error_naming_the_topic(action: str) -> None:
    admin = TopicAdmin(f"127.0.0.1:{_closed_port()}", timeout_s=0.5)
    with pytest.raises(KafkaError, match=rf"cannot {action} topic t1: no answer from Kafka within"):
        if action == "create":
            admin.create({"t1": 1})
        else:
            admin.delete(["t1"])


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TlsServer]:
    with tls_server(certs.issue(tmp_path / "server-ca"), tmp_path) as server:
        yield server


def test_a_refused_certificate_is_said_at_once_with_its_cause(
    broker: TlsServer, tmp_path: Path
) -> None:
    other = certs.issue(tmp_path / "client-trusts")  # not the CA that signed the server's
    admin = TopicAdmin(
        broker.address, config={"security.protocol": "SSL", "ssl.ca.location": str(other.ca)}
    )
    start = time.monotonic()
    with pytest.raises(KafkaError) as caught:
        admin.reach(20)
    assert time.monotonic() - start < 10  # a refused certificate is final: not the deadline
    message = str(caught.value)
    assert message.startswith(f"cannot reach Kafka at {broker.address} (SSL): ")
    assert "certificate verify failed" in message


def test_a_broker_that_never_answers_is_given_the_deadline_and_named() -> None:
    admin = TopicAdmin(f"127.0.0.1:{_closed_port()}")
    start = time.monotonic()
    with pytest.raises(KafkaError, match=r"cannot reach Kafka at 127\.0\.0\.1:\d+ \(PLAINTEXT\): "):
        admin.reach(1.5)
    assert time.monotonic() - start >= 1.4  # a refused connection may be a broker starting


def test_a_remote_run_that_cannot_reach_kafka_reports_each_test_as_not_run(
    broker: TlsServer, tmp_path: Path
) -> None:
    """The CLI as a user runs it: exit 3, the cause on one line, the reports still written."""
    other = certs.issue(tmp_path / "client-trusts")
    profile = tmp_path / "cluster.yaml"
    profile.write_text(
        "flink:\n"
        f"  gateway_url: http://127.0.0.1:{_closed_port()}\n"
        f"  rest_url: http://127.0.0.1:{_closed_port()}\n"
        "kafka:\n"
        f"  bootstrap_servers: {broker.address}\n"
        "  security_protocol: SSL\n"
        f"  ssl_ca_location: {other.ca}\n"
    )
    results = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTT_")}
    env.update(CTT_STATE_DIR=str(tmp_path / "no-stack"), COLUMNS="300")
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [
            sys.executable, "-m", "ctt", "run", "specs/basic_field_transformation.yaml",
            "--profile", str(profile), "--results", str(results),
            "--junit", str(tmp_path / "junit.xml"),
        ],
        capture_output=True, text=True, env=env, cwd=root, timeout=120, check=False,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "certificate verify failed" in done.stdout + done.stderr
    tests = json.loads(results.read_text())["tests"]
    assert [(t["status"], t["error_kind"]) for t in tests] == [("error", "infra")]
    assert tests[0]["message"].startswith(f"not run: cannot reach Kafka at {broker.address} (SSL)")
    assert "certificate verify failed" in (tmp_path / "junit.xml").read_text()

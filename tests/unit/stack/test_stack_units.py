"""Stack pieces without a JVM: config rendering, the state file, and each error path's message."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from pydantic import SecretStr

from ctt.errors import ExitCode
from ctt.stack import artifacts, certs, java, paths, process, state
from ctt.stack.state import ComponentState, Ports, StackState
from ctt.stack.supervisor import (
    SCRAM_MECHANISMS,
    LocalStack,
    PortInUseError,
    StackDiedError,
    StackSettings,
    _choose_ports,
    _render,
)
from tests.tls import tls_server


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTT_STATE_DIR", str(tmp_path / "state"))


PORTS = Ports(kafka=1, kafka_controller=2, jobmanager_rpc=3, flink_rest=4, sql_gateway=5)


def test_configs_render_with_ports(tmp_path: Path) -> None:
    _render("server.properties.j2", tmp_path / "s.properties", ports=PORTS, data_dir=tmp_path / "d",
            sasl_users={})
    text = (tmp_path / "s.properties").read_text()
    assert "listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2\n" in text
    assert "SASL" not in text
    assert "process.roles=broker,controller" in text
    _render("config.yaml.j2", tmp_path / "config.yaml", ports=PORTS, settings=StackSettings(slots=3), run_dir=tmp_path)
    import yaml

    conf = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert conf["taskmanager.numberOfTaskSlots"] == 3 and conf["rest.port"] == 4
    assert conf["sql-gateway.endpoint.rest.port"] == 5
    assert conf["jobstore.max-capacity"] == 100  # finished jobs bounded: each metric refresh lists them
    _render("config.yaml.j2", tmp_path / "c2.yaml", ports=PORTS, settings=StackSettings(finished_jobs_kept=7),
            run_dir=tmp_path)
    assert yaml.safe_load((tmp_path / "c2.yaml").read_text())["jobstore.max-capacity"] == 7


def test_a_sasl_listener_with_its_users(tmp_path: Path) -> None:
    ports = PORTS.model_copy(update={"kafka_sasl": 6})
    _render(
        "server.properties.j2",
        tmp_path / "s.properties",
        ports=ports,
        data_dir=tmp_path / "d",
        sasl_users={"ctt": "pw-1", "other": "pw-2"},
        scram_mechanisms=SCRAM_MECHANISMS,
        tls=None,
    )
    text = (tmp_path / "s.properties").read_text()
    assert "advertised.listeners=PLAINTEXT://127.0.0.1:1,SASL_PLAINTEXT://127.0.0.1:6\n" in text
    assert 'PlainLoginModule required user_ctt="pw-1" user_other="pw-2";' in text
    assert "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512\n" in text
    assert "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=" in text
    assert "SASL_SSL" not in text and "keystore" not in text


def test_a_tls_listener_presents_a_certificate_of_the_stack_ca(tmp_path: Path) -> None:
    tls = certs.issue(tmp_path / "tls")
    ports = PORTS.model_copy(update={"kafka_sasl": 6, "kafka_sasl_ssl": 7})
    _render(
        "server.properties.j2",
        tmp_path / "s.properties",
        ports=ports,
        data_dir=tmp_path / "d",
        sasl_users={"ctt": "pw-1"},
        scram_mechanisms=SCRAM_MECHANISMS,
        tls=tls,
    )
    text = (tmp_path / "s.properties").read_text()
    assert ",SASL_PLAINTEXT://127.0.0.1:6,SASL_SSL://127.0.0.1:7\n" in text
    assert "listener.security.protocol.map=" in text and "SASL_SSL:SASL_SSL" in text
    assert f"listener.name.sasl_ssl.ssl.keystore.location={tls.broker}\n" in text
    assert f"listener.name.sasl_ssl.ssl.keystore.password={tls.password()}\n" in text
    assert "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=" in text
    assert oct(tls.broker.stat().st_mode & 0o777) == "0o600"
    assert oct(tls.password_file.stat().st_mode & 0o777) == "0o600"
    assert certs.issue(tmp_path / "tls").ca.read_bytes() == tls.ca.read_bytes()  # kept, not re-made

    # A TLS handshake as a client does it: the CA file trusted, the name 127.0.0.1 checked.
    with tls_server(tls, tmp_path) as server:
        client = ssl.create_default_context(cafile=str(tls.ca))
        with socket.create_connection(("127.0.0.1", server.port)) as raw, client.wrap_socket(
            raw, server_hostname="127.0.0.1"
        ) as conn:
            assert conn.recv(2) == b"ok"
        refused = ssl.create_default_context(cafile=str(certs.issue(tmp_path / "other").ca))
        with socket.create_connection(("127.0.0.1", server.port)) as raw, pytest.raises(
            ssl.SSLCertVerificationError
        ):
            refused.wrap_socket(raw, server_hostname="127.0.0.1")


def test_tls_needs_sasl_users() -> None:
    with pytest.raises(ValueError, match="kafka_tls adds a SASL_SSL listener"):
        StackSettings(kafka_tls=True)
    assert StackSettings(kafka_tls=True, kafka_sasl_users={"ctt": SecretStr("pw")}).kafka_tls


def test_sasl_passwords_that_would_break_the_jaas_line_are_refused() -> None:
    with pytest.raises(ValueError, match="SASL users"):
        StackSettings(kafka_sasl_users={"ctt": SecretStr('a" user_admin="x')})


def test_versions_pin_matching_connector() -> None:
    v = artifacts.load_versions()
    minor = ".".join(v.flink.version.split(".")[:2])
    assert v.flink.connector.endswith(f"-{minor}")
    assert v.kafka.version.startswith("4.")
    assert set(artifacts.read_lock()) == {
        f"kafka-{v.kafka.version}",
        f"flink-{v.flink.version}",
        f"connect-{v.kafka.version}",
        f"jdbc-sink-{v.connect.jdbc_sink.version}",
    }


def _dead_state(tmp_path: Path) -> StackState:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    comp = ComponentState(name="kafka", pid=proc.pid, create_time=0.0, version="4", log=tmp_path / "k.log")
    run_dir = paths.state_dir() / "run"
    run_dir.mkdir(parents=True)
    return StackState(run_dir=run_dir, started_at=datetime.now(UTC), slots=4, ports=PORTS,
                      kafka_version="4", flink_version="2", components={"kafka": comp})


def test_stale_state_is_detected_and_cleaned(tmp_path: Path) -> None:
    st = _dead_state(tmp_path)
    state.write(st)
    assert state.read() is not None
    assert LocalStack().current() is None
    assert state.read() is None and not st.run_dir.exists()


def test_state_round_trip_and_pid_reuse_guard(tmp_path: Path) -> None:
    me = psutil.Process()
    comp = ComponentState(name="kafka", pid=me.pid, create_time=me.create_time(), version="4", log=tmp_path / "l")
    assert comp.alive()
    assert not comp.model_copy(update={"create_time": me.create_time() - 100}).alive()


def test_a_stepped_clock_does_not_make_a_live_process_look_dead(tmp_path: Path) -> None:
    """The wall-clock start moves with the clock (a resumed VM, NTP); the start since boot does not."""
    me = psutil.Process()
    since_boot = process.started_s(me)
    assert since_boot == pytest.approx(me.create_time() - psutil.boot_time(), abs=1.0)
    stepped = ComponentState(
        name="jobmanager", pid=me.pid, create_time=me.create_time() - 100, started_s=since_boot,
        version="2", log=tmp_path / "l",
    )
    assert stepped.alive()
    assert not stepped.model_copy(update={"started_s": since_boot - 5}).alive()  # a reused pid


def test_port_in_use_names_the_owner() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUseError) as err:
            _choose_ports(StackSettings(kafka_port=port))
    assert f"port {port}" in str(err.value) and f"(pid {os.getpid()})" in str(err.value)
    assert err.value.exit_code is ExitCode.INFRA


def test_java_missing_and_too_old(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(java.JavaError, match="Java is not installed"):
        java.require_java(17)
    fake = tmp_path / "jdk" / "bin" / "java"
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.2"\' >&2\n')
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(java.JavaError, match="Java 11, the stack needs Java 17"):
        java.require_java(17)


def test_artifact_failure_names_the_artifact(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn, no java
    with pytest.raises(artifacts.ArtifactError, match=r"cannot fetch Apache Kafka .*'mvn' is not installed"):
        artifacts._mvn_copy(paths.stack_resources() / "kafka" / "pom.xml", tmp_path / "x", transitive=True,
                            what="Apache Kafka 4.1.1")


def test_checksum_mismatch_is_reported(tmp_path: Path) -> None:
    home = tmp_path / "kafka"
    (home / "libs").mkdir(parents=True)
    (home / "libs" / "a.jar").write_bytes(b"tampered")
    with pytest.raises(artifacts.ArtifactError, match=r"checksum mismatch: libs/a\.jar"):
        artifacts._verify("kafka-x", home, {"kafka-x": {"libs/a.jar": "0" * 64}})


def test_component_that_died_reports_its_last_log_lines(tmp_path: Path) -> None:
    log = tmp_path / "jobmanager.log"
    log.write_text("INFO starting\nERROR Could not bind to port 8081\nINFO shutting down\n")
    comp = ComponentState(name="jobmanager", pid=1, create_time=0, version="2", log=log)
    err = LocalStack._died("jobmanager", comp)
    assert isinstance(err, StackDiedError)
    assert "jobmanager died while starting" in str(err) and "Could not bind to port 8081" in str(err)


def test_cli_exit_codes_and_one_line_errors(tmp_path: Path) -> None:
    env = {**os.environ, "CTT_STATE_DIR": str(tmp_path / "s")}
    run = lambda *a: subprocess.run([sys.executable, "-m", "ctt", *a], capture_output=True, text=True, env=env)  # noqa: E731
    logs = run("stack", "logs", "kafka")
    assert logs.returncode == 3 and "no stack is running" in logs.stderr and "Traceback" not in logs.stderr
    bad = run("stack", "up", "--slots", "many")
    assert bad.returncode == 2
    missing = run("run", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such spec file" in missing.stderr
    status = run("stack", "status", "--json")
    assert status.returncode == 0 and '"running": false' in status.stdout

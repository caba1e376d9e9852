"""The state file's view of Connect and PostgreSQL, the extras' ports, and the pinned poms."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctt.errors import InfraError
from ctt.stack import artifacts, paths, state
from ctt.stack.settings import Extra, StackSettings
from ctt.stack.state import Ports, PostgresInfo, StackState
from ctt.stack.supervisor import PortInUseError, _choose_extra_ports, _choose_ports

BASE = Ports(kafka=1, kafka_controller=2, jobmanager_rpc=3, flink_rest=4, sql_gateway=5)


def _state(ports: Ports, pg: PostgresInfo | None = None) -> StackState:
    return StackState(run_dir=Path("/r"), started_at=datetime.now(UTC), slots=1, ports=ports,
                      kafka_version="4.1.1", flink_version="2.2.1", postgres=pg)


def test_without_extras_the_urls_are_none_and_require_says_how_to_start_them() -> None:
    st = _state(BASE)
    assert st.connect_url is None and st.postgres_dsn is None and st.postgres_jdbc_url is None
    with pytest.raises(InfraError, match="without Kafka Connect") as err:
        st.require_connect()
    assert err.value.hint == "start it with `ctt stack up --with connect,postgres`"
    with pytest.raises(InfraError, match="without PostgreSQL"):
        st.require_postgres()


def test_with_extras_the_urls_point_at_their_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTT_STATE_DIR", str(tmp_path))
    pg = PostgresInfo(data_dir=tmp_path / "pg", version="15.18")
    st = _state(BASE.model_copy(update={"connect": 8083, "postgres": 5433}), pg)
    assert st.require_connect() == "http://127.0.0.1:8083"
    assert st.require_postgres() == "postgresql://ctt@127.0.0.1:5433/ctt"
    assert st.postgres_jdbc_url == "jdbc:postgresql://127.0.0.1:5433/ctt"
    state.write(st)
    again = state.read()
    assert again is not None and again.postgres == pg and again.ports.connect == 8083


def test_extras_get_distinct_free_ports_and_keep_ones_already_chosen() -> None:
    settings = StackSettings(extras=frozenset({Extra.CONNECT, Extra.POSTGRES}))
    chosen = _choose_ports(settings)
    every = list(chosen.model_dump(exclude={"kafka_sasl", "kafka_sasl_ssl"}).values())  # no SASL users asked
    assert None not in every and len(set(every)) == len(every)
    assert _choose_ports(StackSettings()).connect is None
    kept = BASE.model_copy(update={"connect": 8083})
    assert _choose_extra_ports(settings, kept).connect == 8083


def test_a_taken_extra_port_names_the_component() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} \\(postgres\\) is in use"):
            _choose_ports(StackSettings(extras=frozenset({Extra.POSTGRES}), postgres_port=port))


def _pom_property(pom: str, name: str) -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(paths.stack_resources() / pom).getroot()
    node = root.find(f"m:properties/m:{name}", ns)
    assert node is not None and node.text
    return node.text


def test_poms_pin_what_versions_yaml_says() -> None:
    v = artifacts.load_versions()
    assert _pom_property(v.connect.pom, "kafka.version") == v.kafka.version  # the broker's own
    assert _pom_property(v.connect.jdbc_sink.pom, "debezium.version") == v.connect.jdbc_sink.version
    assert _pom_property(v.connect.jdbc_sink.pom, "postgresql.version") == v.connect.jdbc_sink.postgresql_driver
    lock = artifacts.read_lock()
    plugin = lock[f"jdbc-sink-{v.connect.jdbc_sink.version}"]
    assert f"plugins/debezium-connector-jdbc/debezium-connector-jdbc-{v.connect.jdbc_sink.version}.jar" in plugin
    assert not any("jackson-databind" in f for f in plugin)  # the worker's Jackson only
    assert f"libs/connect-runtime-{v.kafka.version}.jar" in lock[f"connect-{v.kafka.version}"]


def test_connect_entries_are_cached_separately(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTT_CACHE_DIR", str(tmp_path))
    v = artifacts.load_versions()
    lay = artifacts.layout()
    lock = artifacts.read_lock()

    def verified(home: Path, name: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        (home / ".verified").write_text(artifacts._stamp(lock[name]))

    verified(lay.kafka_home, f"kafka-{v.kafka.version}")
    verified(lay.flink_home, f"flink-{v.flink.version}")
    assert artifacts.is_cached() and not artifacts.is_cached(connect=True)
    verified(lay.connect_home, f"connect-{v.kafka.version}")
    verified(lay.jdbc_sink_home, f"jdbc-sink-{v.connect.jdbc_sink.version}")
    assert artifacts.is_cached(connect=True)


def test_an_entry_verified_against_another_lock_is_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A jar added to stack/ (a new lock entry) reaches caches made before it."""
    monkeypatch.setenv("CTT_CACHE_DIR", str(tmp_path))
    lay = artifacts.layout()
    for home in (lay.kafka_home, lay.flink_home):
        home.mkdir(parents=True)
        (home / ".verified").write_text("ok\n")  # the marker of an older ctt
    assert not artifacts.is_cached()

"""``ctt.stack.connect``: the worker's rendered config and command line, without a JVM."""

from __future__ import annotations

from pathlib import Path

from ctt.stack import artifacts, connect, ports
from ctt.stack.settings import StackSettings
from ctt.stack.state import Ports

PORTS = Ports(kafka=9001, kafka_controller=2, jobmanager_rpc=3, flink_rest=4, sql_gateway=5, connect=8099)


def _props(path: Path) -> dict[str, str]:
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return dict(ln.split("=", 1) for ln in lines)


def test_worker_config_is_distributed_single_broker_json_with_the_plugin_path(tmp_path: Path) -> None:
    lay = artifacts.layout()
    props = _props(connect.render_config(tmp_path, PORTS, lay))
    assert props["bootstrap.servers"] == "127.0.0.1:9001"
    assert props["group.id"]  # distributed mode: a group and three internal topics
    for kind in ("config", "offset", "status"):
        assert props[f"{kind}.storage.topic"].startswith("_ctt-connect-")
        assert props[f"{kind}.storage.replication.factor"] == "1"
    assert props["listeners"] == "http://127.0.0.1:8099" and props["rest.advertised.port"] == "8099"
    assert props["plugin.path"] == str(lay.connect_plugin_path)
    assert props["plugin.discovery"] == "service_load"
    assert props["value.converter"] == "org.apache.kafka.connect.json.JsonConverter"
    assert props["value.converter.schemas.enable"] == "true"
    assert (tmp_path / connect.LOG4J).is_file()


def test_command_runs_connect_distributed_on_the_connect_libs(tmp_path: Path) -> None:
    lay = artifacts.layout()
    cmd = connect.command(Path("/jdk/bin/java"), lay, tmp_path, heap="256m")
    assert cmd[0] == "/jdk/bin/java" and "-Xmx256m" in cmd
    assert cmd[cmd.index("-cp") + 1] == f"{lay.connect_libs}/*"
    assert cmd[-2:] == [connect.MAIN_CLASS, str(tmp_path / connect.WORKER_PROPERTIES)]
    assert f"-Dlog4j2.configurationFile={tmp_path / connect.LOG4J}" in cmd


def test_ready_is_false_when_nothing_listens() -> None:
    (port,) = ports.pick_free(1)
    assert connect.ready(f"http://127.0.0.1:{port}") is False


def test_jvm_options_come_before_the_heap_and_the_main_class(tmp_path: Path) -> None:
    lay = artifacts.layout()
    opts = StackSettings().jvm_options
    cmd = connect.command(Path("/jdk/bin/java"), lay, tmp_path, heap="256m", options=opts)
    assert opts == ("-XX:TieredStopAtLevel=1",)  # the shipped default: C1 only
    assert cmd[1:2] == list(opts)
    assert cmd.index(opts[0]) < cmd.index(connect.MAIN_CLASS)

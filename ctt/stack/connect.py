"""The Kafka Connect worker of the local stack: its config, its command line, its health.

One worker in distributed mode (connectors are created through its REST API,
as on a real Connect cluster), running Kafka's own ``connect-runtime`` of the
broker's version with the Debezium JDBC sink on its ``plugin.path``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import httpx

from ctt.stack import artifacts, paths
from ctt.stack.render import render
from ctt.stack.state import Ports

MAIN_CLASS = "org.apache.kafka.connect.cli.ConnectDistributed"
JDBC_SINK_CLASS = "io.debezium.connector.jdbc.JdbcSinkConnector"
WORKER_PROPERTIES = "connect-distributed.properties"
LOG4J = "connect-log4j2.properties"


def render_config(conf: Path, ports: Ports, lay: artifacts.Layout) -> Path:
    """Write the worker's properties and logging config into ``conf``; the properties file."""
    props = conf / WORKER_PROPERTIES
    render(
        "connect-distributed.properties.j2",
        props,
        ports=ports,
        plugin_path=lay.connect_plugin_path,
    )
    shutil.copy(paths.stack_resources() / "templates" / LOG4J, conf / LOG4J)
    return props


def command(
    java: Path, lay: artifacts.Layout, conf: Path, *, heap: str, options: Sequence[str] = ()
) -> list[str]:
    return [
        str(java),
        *options,
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={conf / LOG4J}",
        "-cp",
        f"{lay.connect_libs}/*",
        MAIN_CLASS,
        str(conf / WORKER_PROPERTIES),
    ]


def ready(connect_url: str) -> bool:
    """The worker's REST API lists the JDBC sink plugin and its herder answers ``/connectors``."""
    try:
        plugins = httpx.get(f"{connect_url}/connector-plugins", timeout=2.0)
        if plugins.status_code != 200:
            return False
        if JDBC_SINK_CLASS not in {p.get("class") for p in plugins.json()}:
            return False
        return httpx.get(f"{connect_url}/connectors", timeout=2.0).status_code == 200
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        return False

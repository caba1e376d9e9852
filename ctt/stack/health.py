"""Health checks of the stack's components; each returns quickly and never raises."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from ctt.stack.state import StackState

_quiet = logging.getLogger("ctt.kafka.health")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


def kafka_ready(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """The broker answers a metadata request and lists itself."""
    from confluent_kafka.admin import AdminClient

    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "logger": _quiet,
        "socket.timeout.ms": 2000,
    }
    admin = AdminClient(conf)
    try:
        md = admin.list_topics(timeout=timeout_s)
        return len(md.brokers) > 0
    except Exception:  # any client error means "not yet"
        return False


def flink_ready(rest_url: str) -> bool:
    """The JobManager's REST API answers and at least one TaskManager has registered."""
    try:
        overview = httpx.get(f"{rest_url}/overview", timeout=2.0).json()
        return int(overview.get("taskmanagers", 0)) >= 1
    except (httpx.HTTPError, ValueError):
        return False


def jobmanager_ready(rest_url: str) -> bool:
    try:
        return httpx.get(f"{rest_url}/config", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def gateway_ready(gateway_url: str) -> bool:
    try:
        return httpx.get(f"{gateway_url}/v1/info", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def postgres_ready(state: StackState, *, create: bool = False) -> bool:
    """``SELECT 1`` in the stack's database (``create``: make the database first if missing)."""
    from ctt.stack import postgres

    pg, port = state.postgres, state.ports.postgres
    if pg is None or port is None:
        return False
    return postgres.ready(port, user=pg.user, database=pg.database, create=create)


def component_health(state: StackState) -> dict[str, bool]:
    """Per component: process alive and its own check answering (extras only when started)."""
    from ctt.stack import connect

    alive = set(state.alive_components())
    result = {
        "kafka": "kafka" in alive and kafka_ready(state.bootstrap_servers),
        "jobmanager": "jobmanager" in alive and jobmanager_ready(state.flink_rest_url),
        "taskmanager": "taskmanager" in alive and flink_ready(state.flink_rest_url),
        "sql-gateway": "sql-gateway" in alive and gateway_ready(state.gateway_url),
    }
    if "connect" in state.components:
        url = state.connect_url
        result["connect"] = "connect" in alive and url is not None and connect.ready(url)
    if "postgres" in state.components:
        result["postgres"] = "postgres" in alive and postgres_ready(state)
    return result

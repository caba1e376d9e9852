"""The state file that lets `status`, `logs` and `down` find a stack started from another shell."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path

import psutil
from pydantic import BaseModel, Field, ValidationError

from ctt.errors import InfraError
from ctt.stack import paths, process

STATE_FILE = "stack.json"
COMPONENTS = ("kafka", "jobmanager", "taskmanager", "sql-gateway")


class ComponentState(BaseModel):
    name: str
    pid: int
    create_time: float = Field(description="process start (epoch seconds), for people")
    started_s: float | None = Field(
        default=None, description="seconds from boot to the start: guards against pid reuse"
    )
    port: int | None = None
    version: str
    log: Path

    def alive(self) -> bool:
        """The recorded process still runs (the same one: a reused pid starts later)."""
        try:
            proc = psutil.Process(self.pid)
            same = (
                abs(process.started_s(proc) - self.started_s) < 0.5
                if self.started_s is not None
                else abs(proc.create_time() - self.create_time) < 1.0  # an older state file
            )
            return same and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


class Ports(BaseModel):
    kafka: int
    kafka_controller: int
    jobmanager_rpc: int
    flink_rest: int
    sql_gateway: int
    kafka_sasl: int | None = Field(None, description="the SASL_PLAINTEXT listener, if any")
    kafka_sasl_ssl: int | None = Field(None, description="the SASL_SSL listener, if any")
    connect: int | None = Field(default=None, description="Kafka Connect REST, with connect")
    postgres: int | None = Field(default=None, description="PostgreSQL TCP port, with postgres")


class PostgresInfo(BaseModel):
    """How to reach the stack's PostgreSQL server (trust authentication on 127.0.0.1)."""

    user: str = "ctt"
    database: str = "ctt"
    data_dir: Path
    version: str


class StackState(BaseModel):
    """Everything a client needs to reach the running stack."""

    run_dir: Path
    started_at: datetime
    slots: int
    ports: Ports
    kafka_version: str
    flink_version: str
    components: dict[str, ComponentState] = Field(default_factory=dict)
    postgres: PostgresInfo | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def sasl_bootstrap_servers(self) -> str | None:
        """The SASL_PLAINTEXT (PLAIN) listener of a stack started with SASL users."""
        return f"127.0.0.1:{self.ports.kafka_sasl}" if self.ports.kafka_sasl else None

    @property
    def sasl_ssl_bootstrap_servers(self) -> str | None:
        """The SASL_SSL listener of a stack started with ``kafka_tls``."""
        return f"127.0.0.1:{self.ports.kafka_sasl_ssl}" if self.ports.kafka_sasl_ssl else None

    @property
    def kafka_ca_file(self) -> Path | None:
        """The CA a client trusts for the SASL_SSL listener (``kafka.ssl_ca_location``)."""
        return self.run_dir / "conf" / "tls" / "ca.pem" if self.ports.kafka_sasl_ssl else None

    @property
    def flink_rest_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.flink_rest}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sql_gateway}"

    @property
    def connect_url(self) -> str | None:
        """Kafka Connect's REST API, when the stack runs with ``connect``."""
        return f"http://127.0.0.1:{self.ports.connect}" if self.ports.connect else None

    @property
    def postgres_dsn(self) -> str | None:
        """A libpq URL of the stack's database (``postgresql://ctt@127.0.0.1:PORT/ctt``)."""
        pg = self.postgres
        if pg is None or not self.ports.postgres:
            return None
        return f"postgresql://{pg.user}@127.0.0.1:{self.ports.postgres}/{pg.database}"

    @property
    def postgres_jdbc_url(self) -> str | None:
        """The same database as Connect's JDBC sink sees it (``connection.url``)."""
        pg = self.postgres
        if pg is None or not self.ports.postgres:
            return None
        return f"jdbc:postgresql://127.0.0.1:{self.ports.postgres}/{pg.database}"

    def require_connect(self) -> str:
        """The Connect REST URL, or an error that says how to start Connect."""
        if self.connect_url is None:
            raise InfraError(
                "the local stack runs without Kafka Connect",
                hint="start it with `ctt stack up --with connect,postgres`",
            )
        return self.connect_url

    def require_postgres(self) -> str:
        """The PostgreSQL DSN, or an error that says how to start PostgreSQL."""
        if self.postgres_dsn is None:
            raise InfraError(
                "the local stack runs without PostgreSQL",
                hint="start it with `ctt stack up --with connect,postgres`",
            )
        return self.postgres_dsn

    def alive_components(self) -> list[str]:
        return [name for name, comp in self.components.items() if comp.alive()]


def state_path() -> Path:
    return paths.state_dir() / STATE_FILE


def read() -> StackState | None:
    """The recorded state, or None when there is none or it is unreadable."""
    path = state_path()
    try:
        return StackState.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError):
        return None


def write(state: StackState) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.model_dump_json(indent=2))
    os.replace(tmp, path)


def remove() -> None:
    with contextlib.suppress(FileNotFoundError):
        state_path().unlink()

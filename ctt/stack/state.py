"""The state file that lets `status`, `logs` and `down` find a stack started from another shell."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path

import psutil
from pydantic import BaseModel, Field, ValidationError

from ctt.stack import paths

STATE_FILE = "stack.json"
COMPONENTS = ("kafka", "jobmanager", "taskmanager", "sql-gateway")


class ComponentState(BaseModel):
    name: str
    pid: int
    create_time: float = Field(description="process start time, guards against pid reuse")
    port: int | None = None
    version: str
    log: Path

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return (
                abs(proc.create_time() - self.create_time) < 1.0
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False


class Ports(BaseModel):
    kafka: int
    kafka_controller: int
    jobmanager_rpc: int
    flink_rest: int
    sql_gateway: int
    kafka_sasl: int | None = Field(None, description="the SASL_PLAINTEXT listener, if any")


class StackState(BaseModel):
    """Everything a client needs to reach the running stack."""

    run_dir: Path
    started_at: datetime
    slots: int
    ports: Ports
    kafka_version: str
    flink_version: str
    components: dict[str, ComponentState] = Field(default_factory=dict)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def sasl_bootstrap_servers(self) -> str | None:
        """The SASL_PLAINTEXT (PLAIN) listener of a stack started with SASL users."""
        return f"127.0.0.1:{self.ports.kafka_sasl}" if self.ports.kafka_sasl else None

    @property
    def flink_rest_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.flink_rest}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sql_gateway}"

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

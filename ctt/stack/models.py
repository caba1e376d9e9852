"""`ctt stack status --json` document."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ComponentStatus(BaseModel):
    name: str
    pid: int
    port: int | None
    version: str
    alive: bool
    healthy: bool
    log: str


class StackStatus(BaseModel):
    running: bool
    healthy: bool = False
    run_dir: str | None = None
    started_at: datetime | None = None
    bootstrap_servers: str | None = None
    flink_rest_url: str | None = None
    gateway_url: str | None = None
    connect_url: str | None = None  # with `--with connect`
    postgres_dsn: str | None = None  # with `--with postgres`
    slots: int | None = None
    components: list[ComponentStatus] = Field(default_factory=list)

"""Building a :class:`FlinkEngine` from typed settings: the local stack or Confluent Cloud.

The runner takes a factory (one fresh engine per test, since a local engine is a
gateway session whose tables die with it) and never names an implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from ctt.engines.base import FlinkEngine
from ctt.engines.confluent import ConfluentSettings

EngineFactory = Callable[[], FlinkEngine]


class LocalEngineSettings(BaseModel):
    """Where a SQL Gateway and JobManager listen: the local stack's, or a cluster ctt did not
    start (then with the headers its proxy wants)."""

    kind: Literal["local"] = "local"
    gateway_url: str
    rest_url: str
    taskmanager_log: Path | None = Field(
        None, description="read (a bounded tail) for exception text Flink's REST API drops"
    )
    properties: dict[str, str] = Field(default_factory=dict, description="session properties")
    gateway_headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="HTTP headers for the gateway (Authorization)"
    )
    rest_headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="HTTP headers for the Flink REST API"
    )
    session_name: str | None = Field(None, description="the gateway sessions' name")
    elastic_slots: bool = Field(False, description="submit without waiting for a free slot")


class ConfluentEngineSettings(BaseModel):
    kind: Literal["confluent"] = "confluent"
    confluent: ConfluentSettings


EngineSettings = Annotated[
    LocalEngineSettings | ConfluentEngineSettings, Field(discriminator="kind")
]


def engine_factory(settings: LocalEngineSettings | ConfluentEngineSettings) -> EngineFactory:
    """A callable that opens a new engine (session) each time it is called."""
    if isinstance(settings, LocalEngineSettings):
        local = settings

        def open_local() -> FlinkEngine:
            from ctt.engines.local import LocalEngine

            return LocalEngine(
                local.gateway_url,
                local.rest_url,
                properties=local.properties,
                taskmanager_log=local.taskmanager_log,
                gateway_headers=_plain(local.gateway_headers),
                rest_headers=_plain(local.rest_headers),
                session_name=local.session_name,
                elastic_slots=local.elastic_slots,
            )

        return open_local
    cloud = settings.confluent

    def open_confluent() -> FlinkEngine:
        from ctt.engines.confluent import ConfluentEngine

        return ConfluentEngine(cloud)

    return open_confluent


def _plain(headers: dict[str, SecretStr]) -> dict[str, str] | None:
    return {k: v.get_secret_value() for k, v in headers.items()} or None

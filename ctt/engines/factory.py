"""Building a :class:`FlinkEngine` from typed settings: the local stack or Confluent Cloud.

The runner takes a factory (one fresh engine per test, since a local engine is a
gateway session whose tables die with it) and never names an implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ctt.engines.base import FlinkEngine
from ctt.engines.confluent import ConfluentSettings

EngineFactory = Callable[[], FlinkEngine]


class LocalEngineSettings(BaseModel):
    """Where the local stack's SQL Gateway and JobManager listen."""

    kind: Literal["local"] = "local"
    gateway_url: str
    rest_url: str
    taskmanager_log: Path | None = Field(
        None, description="read (a bounded tail) for exception text Flink's REST API drops"
    )
    properties: dict[str, str] = Field(default_factory=dict, description="session properties")


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
            )

        return open_local
    cloud = settings.confluent

    def open_confluent() -> FlinkEngine:
        from ctt.engines.confluent import ConfluentEngine

        return ConfluentEngine(cloud)

    return open_confluent

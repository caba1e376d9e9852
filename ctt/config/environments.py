"""The environment pools file (``continuous-testing/config/environments.yaml``).

A pool is a set of named, interchangeable test environments (local stacks,
Confluent Cloud environments, Kafka clusters); a job leases one for a while
(:mod:`ctt.ci.envpool`) and its suites see that environment's variables::

    pools:
      local-stacks:
        ttl: 30m
        environments:
          stack-1: {env: {CTT_STATE_DIR: .ctt/envs/stack-1}}
          stack-2: {env: {CTT_STATE_DIR: .ctt/envs/stack-2}}
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ctt.config.durations import Duration
from ctt.config.yaml_source import load_yaml, parse_model

__all__ = ["DEFAULT_ENVIRONMENTS_FILE", "EnvPool", "EnvPools", "Environment", "load_env_pools"]

DEFAULT_ENVIRONMENTS_FILE = Path("continuous-testing/config/environments.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(_Strict):
    """One environment: the variables a job that leases it runs with."""

    env: dict[str, str] = Field(default_factory=dict)
    description: str | None = None


class EnvPool(_Strict):
    ttl: Duration = Field(1800.0, description="a lease not renewed for this long is stale")
    environments: dict[str, Environment] = Field(min_length=1)


class EnvPools(_Strict):
    pools: dict[str, EnvPool] = Field(default_factory=dict)


def load_env_pools(path: Path | str = DEFAULT_ENVIRONMENTS_FILE) -> EnvPools:
    """Load and validate the pools file; errors carry file:line."""
    data, smap = load_yaml(path)
    return parse_model(EnvPools, data or {}, smap)

"""The suite catalogue (``continuous-testing/config/suites.yaml``).

A suite is anything that yields JUnit: a directory of Flink specs run by
ctt's own runner, ``terraform test`` in a module directory, or a command that
writes a JUnit file. Selection (``ctt select``) and execution (``ctt run
--plan``) both read this one model.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ctt.config.durations import Duration
from ctt.config.yaml_source import load_yaml_cached, parse_model

DEFAULT_SUITES_FILE = Path("continuous-testing/config/suites.yaml")


class SuiteKind(StrEnum):
    FLINK = "flink"  # a directory (or file) of Flink test specs, run by `ctt run`
    TERRAFORM = "terraform"  # `terraform test` in a module directory
    COMMAND = "command"  # a shell command that writes JUnit to $CTT_JUNIT_PATH


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Suite(_Strict):
    """One runnable unit of tests, the thing CI jobs are made of."""

    name: str = ""
    kind: SuiteKind
    path: str | None = Field(None, description="spec dir/file (flink) or module dir (terraform)")
    command: str | None = Field(None, description="shell command (kind: command)")
    junit: str | None = Field(
        None, description="where the command writes JUnit; default $CTT_JUNIT_PATH"
    )
    resources: dict[str, float] = Field(
        default_factory=dict,
        description="units taken from pools while running, e.g. flink_slots: 2",
    )
    timeout: Duration | None = None
    tags: list[str] = Field(default_factory=list)
    always_run: bool = False
    env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _kind_fields(self) -> Suite:
        if self.kind is SuiteKind.COMMAND and not self.command:
            raise ValueError("a 'command' suite needs 'command'")
        if self.kind in (SuiteKind.FLINK, SuiteKind.TERRAFORM) and not self.path:
            raise ValueError(f"a '{self.kind.value}' suite needs 'path'")
        return self


class Pool(_Strict):
    capacity: float = Field(gt=0)


class SuiteCatalogue(_Strict):
    """All suites and the resource pools they draw from."""

    suites: dict[str, Suite]
    pools: dict[str, Pool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> SuiteCatalogue:
        for name, suite in self.suites.items():
            if suite.name and suite.name != name:
                raise ValueError(f"suite {name!r} has a different 'name' ({suite.name!r})")
            object.__setattr__(suite, "name", name)
        for name, suite in self.suites.items():
            for res, amount in suite.resources.items():
                pool = self.pools.get(res)
                if pool is not None and amount > pool.capacity:
                    raise ValueError(
                        f"suite {name!r} needs {amount} {res} but the pool holds {pool.capacity}"
                    )
        return self


def load_suites(
    path: Path | str = DEFAULT_SUITES_FILE, *, cache_dir: Path | None = None
) -> SuiteCatalogue:
    """Load and validate the catalogue; errors carry file:line (``cache_dir``: reuse the parse)."""
    data, smap = load_yaml_cached(path, cache_dir)
    return parse_model(SuiteCatalogue, data, smap)

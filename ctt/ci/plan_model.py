"""The test execution plan: the contract between ``ctt select`` and ``ctt run --plan``.

``ctt select`` (ctt/ci/plan.py) writes it as ``test-execution-plan.json``;
the executor (ctt/ci/execute.py) and the GitLab child-pipeline generator read
it. Its keys follow the seed's ``_optimize_execution_plan`` (``parallel_groups``,
``sequential_dependencies``, ``estimated_duration``) plus what execution needs.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ctt.errors import ConfigError

__all__ = ["DEFAULT_PLAN_FILE", "EstimatedDuration", "ExecutionPlan", "load_plan"]

DEFAULT_PLAN_FILE = Path("test-execution-plan.json")


class EstimatedDuration(BaseModel):
    model_config = ConfigDict(extra="ignore")

    total_seconds: float = Field(0.0, ge=0, description="sum over suites (serial time)")
    per_suite: dict[str, float] = Field(
        default_factory=dict, description="expected seconds per suite, from history or defaults"
    )


class ExecutionPlan(BaseModel):
    """Which suites to run, in which order, how wide.

    ``sequential_dependencies`` maps a suite to the suites that must finish
    first; a prerequisite that is not in ``suites`` was not selected and is
    treated as already satisfied.
    """

    model_config = ConfigDict(extra="ignore")

    mode: str = Field("full", description="smart, full or manual")
    suites: list[str]
    parallel_groups: list[list[str]] = Field(
        default_factory=list, description="suites that may run together, group after group"
    )
    sequential_dependencies: dict[str, list[str]] = Field(default_factory=dict)
    estimated_duration: EstimatedDuration = Field(default_factory=EstimatedDuration)
    critical_path: list[str] = Field(default_factory=list)
    parallel_limit: int = Field(4, ge=1)
    timeout_per_test: float | None = Field(
        None, gt=0, description="seconds per suite (execution_strategy.timeout_per_test)"
    )
    retry_failed_tests: int = Field(0, ge=0, description="execution_strategy.retry_failed_tests")

    @model_validator(mode="after")
    def _names_known(self) -> ExecutionPlan:
        known = set(self.suites)
        if len(known) != len(self.suites):
            raise ValueError("'suites' lists a suite twice")
        for group in self.parallel_groups:
            for name in group:
                if name not in known:
                    raise ValueError(f"parallel_groups names {name!r}, which is not in 'suites'")
        for name in self.sequential_dependencies:
            if name not in known:
                raise ValueError(
                    f"sequential_dependencies names {name!r}, which is not in 'suites'"
                )
        return self

    def expected_seconds(self, suite: str, default: float = 60.0) -> float:
        return self.estimated_duration.per_suite.get(suite, default)


def load_plan(path: Path | str = DEFAULT_PLAN_FILE) -> ExecutionPlan:
    """Read and validate a plan file; problems become ConfigError with the file name."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("plan file not found", file=name, hint="run `ctt select` first") from None
    except OSError as exc:
        raise ConfigError(f"cannot read plan: {exc.strerror}", file=name) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}", file=name, line=exc.lineno) from None
    try:
        return ExecutionPlan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "plan"
        raise ConfigError(f"{loc}: {first['msg']}", file=name) from None

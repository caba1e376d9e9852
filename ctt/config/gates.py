"""Quality gates (``continuous-testing/config/quality-gates.yaml``).

Each key is one condition; leaving a key out switches that condition off.
Conditions named under ``advisory`` are reported but never block.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ctt.config.durations import Percent
from ctt.config.yaml_source import load_yaml, parse_model

__all__ = [
    "DEFAULT_GATES_FILE",
    "GateMode",
    "GatesConfig",
    "MutationScoreGate",
    "PerformanceRegressionGate",
    "QualityGates",
    "RegressionAction",
    "load_gates",
]

DEFAULT_GATES_FILE = Path("continuous-testing/config/quality-gates.yaml")


class GateMode(StrEnum):
    BLOCKING = "blocking"  # a failed blocking condition exits 1
    ADVISORY = "advisory"  # report only, exit 0
    AUTO = "auto"  # blocking in merge request pipelines, advisory elsewhere


CONDITIONS = (
    "min_pass_rate",
    "no_new_failures",
    "max_flaky_share",
    "min_streaming_data_accuracy",
    "max_performance_regression",
    "required_suites",
    "mutation_score",
    "performance_regression",
)


class RegressionAction(StrEnum):
    BLOCK = "block"  # a regressed metric fails the condition, and the failure blocks
    WARN = "warn"  # a regressed metric fails the condition, and the failure never blocks


class PerformanceRegressionGate(BaseModel):
    """``performance_regression: block|warn``, or a mapping with the detector's settings.

    Each test's metric (throughput, latency percentiles, backpressure, checkpoints...) in this
    run against the median of the same test's last ``baseline_runs`` passing runs on the same
    engine; beyond the margin ``consecutive`` runs in a row is a regression, fewer is a warning.
    ``ctt aggregate`` reads these settings (its ``--gates`` file) when it compares.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: RegressionAction = RegressionAction.WARN
    baseline_runs: int = Field(10, ge=2, description="passing runs whose median is the baseline")
    min_samples: int = Field(5, ge=2, description="passing runs needed before any verdict")
    consecutive: int = Field(3, ge=1, description="runs in a row beyond the margin that block")
    margins: dict[str, Percent] = Field(
        default_factory=dict,
        description="per metric (see docs/tuning.md): relative noise margin, e.g. 30%",
    )

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, data: Any) -> Any:
        return {"action": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _consistent(self) -> PerformanceRegressionGate:
        if self.min_samples > self.baseline_runs:
            raise ValueError(
                f"min_samples ({self.min_samples}) is more than baseline_runs "
                f"({self.baseline_runs}): no baseline could ever have enough runs"
            )
        half = (self.baseline_runs + 1) // 2
        if self.consecutive > half:
            raise ValueError(
                f"consecutive ({self.consecutive}) is more than half of baseline_runs "
                f"({self.baseline_runs}): by then the median has moved to the new level and "
                f"a lasting step would never block; use consecutive <= {half}"
            )
        return self


class MutationScoreGate(BaseModel):
    """``ctt mutate --output FILE``'s report: how many SQL edits the specs' tests noticed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report: Path = Field(
        Path("mutation-report.json"), description="written by `ctt mutate --output`"
    )
    min_score: Percent | None = Field(None, description="total killed / (killed + survived)")
    min_spec_score: Percent | None = Field(None, description="the same, for every spec")
    specs: dict[str, Percent] = Field(
        default_factory=dict, description="per spec (as the report names it): its own minimum"
    )
    require_report: bool = Field(
        False, description="fail when the report is missing (default: the condition is n/a)"
    )


class GatesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: GateMode = GateMode.AUTO
    min_pass_rate: Percent | None = Field(None, description="passed / (tests - skipped)")
    no_new_failures: bool = Field(
        False, description="nothing fails that passed on the target branch"
    )
    max_flaky_share: Percent | None = Field(None, description="tests that passed only on retry")
    min_streaming_data_accuracy: Percent | None = Field(
        None, description="lowest streaming_data_accuracy any suite or test reported"
    )
    require_streaming_data_accuracy: bool = Field(
        False, description="fail when no suite reports streaming_data_accuracy at all"
    )
    max_performance_regression: Percent | None = Field(
        None, description="slowest suite vs the median of its recent passing runs"
    )
    required_suites: list[str] = Field(default_factory=list)
    mutation_score: MutationScoreGate | None = Field(
        None, description="minimum mutation score, from `ctt mutate --output`'s report"
    )
    performance_regression: PerformanceRegressionGate | None = Field(
        None, description="each test's metrics vs the median of its recent passing runs"
    )
    advisory: list[str] = Field(default_factory=list, description="conditions that never block")

    @model_validator(mode="after")
    def _advisory_names(self) -> GatesConfig:
        for name in self.advisory:
            if name not in CONDITIONS:
                raise ValueError(
                    f"advisory names {name!r}; conditions are: {', '.join(CONDITIONS)}"
                )
        return self


class QualityGates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quality_gates: GatesConfig


def load_gates(path: Path | str = DEFAULT_GATES_FILE) -> GatesConfig:
    data, smap = load_yaml(path)
    return parse_model(QualityGates, data, smap).quality_gates

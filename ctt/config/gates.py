"""Quality gates (``continuous-testing/config/quality-gates.yaml``).

Each key is one condition; leaving a key out switches that condition off.
Conditions named under ``advisory`` are reported but never block.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ctt.config.durations import Percent
from ctt.config.yaml_source import load_yaml, parse_model

__all__ = [
    "DEFAULT_GATES_FILE",
    "GateMode",
    "GatesConfig",
    "MutationScoreGate",
    "QualityGates",
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
)


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

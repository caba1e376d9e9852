"""Documents that flow between CI stages: change-analysis.json and test-execution-plan.json.

Their schemas are documented in docs/ci-workflow.md; ``version`` changes when a
field changes meaning, so a newer ctt can refuse an older artifact clearly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from ctt.ci.plan_model import EstimatedDuration, ExecutionPlan


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- change analysis ------------------------------------------------------------------------------


class FileStatus(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"
    TYPE_CHANGED = "type_changed"  # e.g. a file became a symlink
    UNMERGED = "unmerged"  # a conflict left in the working tree


class DiffSource(StrEnum):
    RANGE = "range"  # --base/--head
    MERGE_REQUEST = "merge_request"  # CI_MERGE_REQUEST_* variables
    PUSH = "push"  # CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA
    WORKING_TREE = "working_tree"  # uncommitted changes against HEAD


class ChangedFile(_Model):
    path: str = Field(description="path after the change, relative to the repository root")
    status: FileStatus
    old_path: str | None = Field(None, description="path before a rename or copy")
    binary: bool = False
    additions: int | None = Field(None, description="added lines (None for binary files)")
    deletions: int | None = None
    components: list[str] = Field(
        default_factory=list, description="selection-graph nodes this file maps to"
    )


class ChangeAnalysis(_Model):
    """What changed between two states of the repository (``change-analysis.json``)."""

    version: Literal[1] = 1
    generated_at: datetime = Field(default_factory=_now)
    source: DiffSource
    base: str | None = Field(None, description="commit compared against (None: empty tree)")
    head: str | None = Field(None, description="commit compared (None: the working tree)")
    merge_base: bool = Field(False, description="base is the merge base of the range")
    initial: bool = Field(False, description="head is a root commit: every file is added")
    shallow: bool = False
    files: list[ChangedFile] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def modified_files(self) -> list[str]:
        """Every path touched, old paths of renames included (the seed's key)."""
        return sorted(self.paths())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def components(self) -> list[str]:
        return sorted({c for f in self.files for c in f.components})

    def paths(self) -> set[str]:
        out = {f.path for f in self.files}
        out.update(f.old_path for f in self.files if f.old_path)
        return out


# --- selection and plan ---------------------------------------------------------------------------


class SelectionMode(StrEnum):
    SMART = "smart"
    FULL = "full"
    MANUAL = "manual"


class Reason(_Model):
    """Why a suite was selected: the rule, and the change it started from."""

    method: str = Field(description="selector method: path, lineage, always_run, ...")
    rule: str = Field(description="the rule in words, with file:line where there is one")
    change: str | None = Field(None, description="the changed file, when a change caused it")
    chain: list[str] = Field(
        default_factory=list, description="graph nodes from the change to the suite"
    )
    steps: list[str] = Field(default_factory=list, description="the rule of each chain edge")


class SkippedSuite(_Model):
    name: str
    why: str
    triggers: list[str] = Field(
        default_factory=list, description="what would have selected it (rules, paths)"
    )


class SuiteDetail(_Model):
    """Everything the plan knows about one selected suite (``suite_details``)."""

    name: str
    kind: str
    path: str | None = None
    command: str | None = None
    estimated_duration: float = Field(description="seconds")
    duration_source: Literal["history", "default", "timeout"]
    timeout: float = Field(description="seconds")
    retries: int = 0
    requires: list[str] = Field(default_factory=list, description="selected suites to run first")
    resources: dict[str, float] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)


class PlanDuration(EstimatedDuration):
    wall_clock_seconds: float = Field(
        0.0, ge=0, description="list-scheduled with parallel_limit workers and the dependencies"
    )
    critical_path_seconds: float = Field(0.0, ge=0, description="the longest dependency chain")


class PlanStats(_Model):
    total_suites: int
    selected: int
    skipped: int
    skipped_share: float = Field(description="skipped / total, 0..1")


class TestExecutionPlan(ExecutionPlan):
    """``test-execution-plan.json``: the executor's contract plus what selection knows.

    The keys ``ctt run --plan`` reads are those of :class:`ExecutionPlan`
    (ctt/ci/plan_model.py); the rest explain the plan to people and to the merge
    request report.
    """

    __test__ = False  # not a pytest class

    version: Literal[1] = 1
    generated_at: datetime = Field(default_factory=_now)
    base: str | None = None
    head: str | None = None
    estimated_duration: PlanDuration = Field(default_factory=PlanDuration)
    suite_details: list[SuiteDetail] = Field(default_factory=list)
    skipped: list[SkippedSuite] = Field(default_factory=list)
    unmapped_files: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    stats: PlanStats

    def detail(self, name: str) -> SuiteDetail:
        for s in self.suite_details:
            if s.name == name:
                return s
        raise KeyError(name)

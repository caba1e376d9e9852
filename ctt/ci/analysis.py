"""``change-analysis.json``: what changed between two states of the repository.

``ctt analyze`` (ctt/ci/analyze.py) writes it and ``ctt select`` reads it. Its
schema is documented in docs/ci-workflow.md; ``version`` changes when a field
changes meaning, so a newer ctt can refuse an older artifact clearly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from ctt.errors import ConfigError

__all__ = ["ChangeAnalysis", "ChangedFile", "DiffSource", "FileStatus", "load_analysis"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


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


def load_analysis(path: Path) -> ChangeAnalysis:
    """Read change-analysis.json; problems become ConfigError with the file name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "change analysis not found", file=str(path), hint="run 'ctt analyze' first"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read change analysis: {exc}", file=str(path)) from None
    if isinstance(data, dict):
        data.pop("modified_files", None)  # computed fields, recomputed on load
        data.pop("components", None)
    try:
        return ChangeAnalysis.model_validate(data)
    except ValueError as exc:
        raise ConfigError(f"not a change analysis: {exc}", file=str(path)) from None

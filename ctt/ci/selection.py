"""What a selection decides: its mode, why each suite was chosen, why the others were skipped.

The vocabulary the selector (``select``), its methods (``selector_methods``) and the plan
document (``plan``) share, in a module of its own so that none of them imports another
to get it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Reason", "Selection", "SelectionMode", "SkippedSuite"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


@dataclass
class Selection:
    """The outcome: selected suites with their reasons, skipped suites with theirs."""

    mode: SelectionMode
    selected: dict[str, list[Reason]]
    skipped: list[SkippedSuite]
    unmapped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

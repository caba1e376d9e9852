"""What every validator sees and returns.

A validator is one file with one function ``check(arg, ctx) -> Outcome`` and a
``parse(raw) -> arg`` that turns the spec's YAML value into its argument, so a
bad value is a config error before anything runs (testdrive's habit of
consuming arguments as read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ctt.config.spec import FlinkTest
from ctt.engines.base import StatementMetrics


class Column(BaseModel):
    name: str
    type: str


class OutputRow(BaseModel):
    """One record the job wrote: its row, changelog op and when ctt read it."""

    op: str = "+I"  # +I, -U, +U, -D
    row: dict[str, Any]
    received_at: float | None = None
    kafka_timestamp_ms: int | None = None


class InputRecord(BaseModel):
    """One record ctt produced, with its produce time (for latency) and ground-truth marks."""

    table: str
    row: dict[str, Any] | None
    key: dict[str, Any] | None = None
    produced_at: float | None = None
    event_time_ms: int | None = None
    watermark_delay_ms: int | None = Field(None, description="the table's watermark delay, if any")
    late: bool = False
    malformed: str | None = None
    closing: bool = False
    partition: int = 0


class TableOutput(BaseModel):
    """Everything ctt knows about one output table after the run."""

    table: str
    columns: list[Column]
    updating: bool = False
    records: list[OutputRow] = Field(default_factory=list)
    expected_rows: list[dict[str, Any]] | None = None
    ordered: bool = False
    changelog: bool = False
    tolerance: float = 1e-9
    ignore_columns: list[str] = Field(default_factory=list)
    expected_count: int | None = None
    expected_columns: list[Column] | None = None
    key: list[str] = Field(default_factory=list, description="identity columns of a row or window")

    def identity(self) -> list[str]:
        """Declared key, else columns that name things (time, text, *_id) rather than measure them."""
        if self.key:
            return self.key
        from ctt.validate.rows import base_type

        out = []
        for c in self.columns:
            kind = base_type(c.type)
            if (
                kind.startswith("TIMESTAMP")
                or kind
                in (
                    "VARCHAR",
                    "STRING",
                    "CHAR",
                    "DATE",
                    "BOOLEAN",
                )
                or c.name == "id"
                or c.name.endswith("_id")
                or "window" in c.name
            ):
                out.append(c.name)
        return out


class SnapshotRef(BaseModel):
    """Where a test's snapshot lives and whether this run may write it (see ctt.expect.snapshot)."""

    path: Path
    command: str = Field(description="the command that (re)records it, shown when it is missing")
    update: bool = False
    ci: bool = Field(False, description="in CI a snapshot is never written")


class SpecRef(BaseModel):
    """The test as the user wrote it: assertions read its source tables and point at its lines."""

    test: FlinkTest
    file: Path
    lines: dict[str, int] = Field(default_factory=dict, description="validation name -> line")

    def where(self, validation: str) -> dict[str, Any]:
        """``file``/``line`` keyword arguments of a ConfigError about one validation."""
        return {"file": str(self.file), "line": self.lines.get(validation)}


class ValidationContext(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    test: str
    outputs: dict[str, TableOutput]
    inputs: list[InputRecord] = Field(default_factory=list)
    metrics: StatementMetrics = Field(default_factory=StatementMetrics)
    extra: dict[str, Any] = Field(default_factory=dict, description="oracle results and the like")
    spec: SpecRef | None = Field(None, description="for assertions over the sources")
    snapshot: SnapshotRef | None = Field(None, description="set when a snapshot applies")


class Outcome(BaseModel):
    """One validation's verdict with the numbers behind it and, on failure, a readable diff."""

    name: str
    passed: bool
    summary: str
    measured: float | None = None
    threshold: float | None = None
    details: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)


def actual_rows(out: TableOutput) -> list[dict[str, Any]]:
    """The rows a reader of the output table would see at the end: final state for changelogs."""
    from ctt.validate.rows import final_state

    if out.changelog or out.updating:
        return final_state(out.records)
    return [r.row for r in out.records]


def compare(out: TableOutput) -> Any:
    """Match actual rows against expected ones (None when the table has no expected rows)."""
    from ctt.validate.rows import Comparer

    if out.expected_rows is None:
        return None
    cmp = Comparer(out.columns, tolerance=out.tolerance, ignore=out.ignore_columns)
    actual = actual_rows(out)
    if out.ordered:
        return cmp.match_ordered(out.expected_rows, actual)
    return cmp.match(out.expected_rows, actual)


class Accuracy(BaseModel):
    """Matched rows over max(expected, produced), summed over every output with expected rows."""

    matched: int = 0
    total: int = 0
    diffs: list[str] = Field(default_factory=list)

    @property
    def share(self) -> float | None:
        return self.matched / self.total if self.total else None


def row_accuracy(ctx: ValidationContext, *, diff_limit: int = 20) -> Accuracy:
    """The accuracy the row-level checks share, with a readable diff per differing output."""
    from ctt.validate.rows import render_diff

    acc = Accuracy()
    for name, out in ctx.outputs.items():
        m = compare(out)
        if m is None:
            continue
        acc.matched += m.matched
        acc.total += max(m.expected, m.actual)
        if not m.perfect:
            acc.diffs.append(f"{name}: {render_diff(m, limit=diff_limit)}")
    return acc

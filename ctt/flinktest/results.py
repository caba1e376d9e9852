"""What a Flink test run produces: serialisable, so parallel workers and CI jobs can send it home.

Only what is particular to Flink tests lives here (validation outcomes, job ids,
record counts); the status, error kinds, counts and exit code are the shared
ones of :mod:`ctt.report.model`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ctt.errors import ExitCode
from ctt.flinktest.slots import SlotUse
from ctt.observed.model import Outcome, Restart
from ctt.report.model import ErrorKind, RunSummary, Status, exit_code

__all__ = ["RunReport", "TestResult"]


class TestResult(BaseModel):
    __test__ = False

    name: str
    file: str
    line: int | None = None
    status: Status
    duration_s: float = 0.0
    message: str | None = None
    snippet: str | None = Field(
        None, description="the user's lines and a caret below `message` (a SQL or spec error)"
    )
    error_kind: ErrorKind | None = None
    outcomes: list[Outcome] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="e.g. only the oracle expects")
    job_id: str | None = None
    run_id: str | None = None
    records_in: int = 0
    records_out: dict[str, int] = Field(default_factory=dict)
    dead_letters: list[dict[str, Any]] | None = Field(
        None, description="the dead-letter table's rows (cut), for the report"
    )
    metrics: dict[str, float | int | str | None] = Field(default_factory=dict)
    restarts: list[Restart] = Field(
        default_factory=list,
        description="each restart ctt watched, with its time to recover (job_survives)",
    )
    log: list[str] = Field(default_factory=list, description="what the runner did, for system-out")

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


class RunReport(BaseModel):
    run_id: str
    engine: str
    started_at: datetime
    duration_s: float = 0.0
    tests: list[TestResult] = Field(default_factory=list)
    summary: RunSummary = Field(default_factory=RunSummary)
    slots: SlotUse | None = Field(None, description="the cluster's slot use while the run went")

    def finish(self, duration_s: float) -> None:
        self.duration_s = duration_s
        self.summary = RunSummary.of(t.status for t in self.tests)

    def exit_code(self) -> ExitCode:
        """The run's exit code, as :func:`ctt.report.model.exit_code` decides it."""
        return exit_code(self.tests)

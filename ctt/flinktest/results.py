"""What a Flink test run produces: serialisable, so parallel workers and CI jobs can send it home."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from ctt.errors import ExitCode
from ctt.validate.base import Outcome


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # ran, and a validation failed
    ERROR = "error"  # could not run: bad spec/SQL (config) or broken infrastructure
    SKIPPED = "skipped"


class ErrorKind(StrEnum):
    CONFIG = "config"
    INFRA = "infra"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    JOB_FAILED = "job_failed"  # status FAILED: the job crashed on the test's SQL or data


class TestResult(BaseModel):
    __test__ = False

    name: str
    file: str
    line: int | None = None
    status: Status
    duration_s: float = 0.0
    message: str | None = None
    error_kind: ErrorKind | None = None
    outcomes: list[Outcome] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="e.g. only the oracle expects")
    job_id: str | None = None
    run_id: str | None = None
    records_in: int = 0
    records_out: dict[str, int] = Field(default_factory=dict)
    metrics: dict[str, float | int | str | None] = Field(default_factory=dict)
    log: list[str] = Field(default_factory=list, description="what the runner did, for system-out")

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


class RunSummary(BaseModel):
    total: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0


class RunReport(BaseModel):
    run_id: str
    engine: str
    started_at: datetime
    duration_s: float = 0.0
    tests: list[TestResult] = Field(default_factory=list)
    summary: RunSummary = Field(default_factory=RunSummary)

    def finish(self, duration_s: float) -> None:
        self.duration_s = duration_s
        s = RunSummary(total=len(self.tests))
        for t in self.tests:
            setattr(
                s,
                t.status.value if t.status != Status.ERROR else "errors",
                getattr(s, t.status.value if t.status != Status.ERROR else "errors") + 1,
            )
        self.summary = s

    def exit_code(self) -> ExitCode:
        """3 if infrastructure broke, else 2 for bad specs/SQL, else 1 for failures, else 0."""
        kinds = {t.error_kind for t in self.tests if t.status == Status.ERROR}
        if ErrorKind.INTERRUPTED in kinds:
            return ExitCode.INTERRUPTED
        if ErrorKind.INFRA in kinds:
            return ExitCode.INFRA
        if ErrorKind.CONFIG in kinds:
            return ExitCode.USAGE
        if any(t.status in (Status.FAILED, Status.ERROR) for t in self.tests):
            return ExitCode.TESTS_FAILED
        return ExitCode.OK

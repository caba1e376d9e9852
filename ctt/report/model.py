"""The result vocabulary every runner and reporter shares: one Status, one RunSummary, one exit code.

The Flink test runner (``ctt.flinktest``), the CI executor (``ctt.ci.execute``)
and JUnit (``ctt.report.junit``) all speak it, so a result crosses from one to
the other without a mapping table. It sits below them all and imports nothing
of ctt but :mod:`ctt.errors`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel

from ctt.errors import ExitCode, TestsFailed, exit_code_for

__all__ = [
    "ErrorKind",
    "HasStatus",
    "RunNotPassed",
    "RunSummary",
    "Status",
    "exit_code",
]


class Status(StrEnum):
    """Outcome of one test, test case or suite."""

    PASSED = "passed"
    FAILED = "failed"  # ran, and an assertion or validation did not hold
    ERROR = "error"  # could not run to a verdict: bad spec/SQL, broken infrastructure, timeout
    SKIPPED = "skipped"


class ErrorKind(StrEnum):
    """Why a result is an ERROR; decides its exit code (see :func:`exit_code`)."""

    CONFIG = "config"
    INFRA = "infra"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    JOB_FAILED = "job_failed"  # the job crashed on the test's SQL or data: the test failed (1)


class HasStatus(Protocol):
    """A finished result as the exit code sees it (TestResult, SuiteRunResult)."""

    @property
    def status(self) -> Status: ...

    @property
    def error_kind(self) -> ErrorKind | None: ...


class HasFlakyStatus(Protocol):
    """A test case as a summary counts it (TestCaseResult)."""

    @property
    def status(self) -> Status: ...

    @property
    def flaky(self) -> bool: ...


class RunSummary(BaseModel):
    """How many results of a run ended in each status (and how many passed only on a retry)."""

    total: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0

    @classmethod
    def of(cls, statuses: Iterable[Status], *, flaky: int = 0) -> RunSummary:
        return cls.tally(Counter(statuses), flaky=flaky)

    @classmethod
    def tally(cls, counts: Mapping[Status, int], *, flaky: int = 0) -> RunSummary:
        """From counts per status: a large run counts into a Counter, not through the
        model (each validated attribute assignment costs microseconds per case)."""
        return cls(
            total=sum(counts.values()),
            passed=counts.get(Status.PASSED, 0),
            failed=counts.get(Status.FAILED, 0),
            errors=counts.get(Status.ERROR, 0),
            skipped=counts.get(Status.SKIPPED, 0),
            flaky=flaky,
        )

    @classmethod
    def of_cases(cls, cases: Iterable[HasFlakyStatus]) -> RunSummary:
        """The summary of test cases (each with a status and whether it was flaky)."""
        cases = list(cases)
        return cls.of((c.status for c in cases), flaky=sum(bool(c.flaky) for c in cases))

    @classmethod
    def from_counts(cls, record: object) -> RunSummary:
        """Read back what :meth:`counts` wrote into a suite or run record."""
        return cls(**{n: getattr(record, "tests" if n == "total" else n) for n in cls.model_fields})

    def counts(self) -> dict[str, int]:
        """The counts as suite and run records name them: ``tests`` for the total."""
        return {"tests": self.total} | self.model_dump(exclude={"total"})

    def __add__(self, other: RunSummary) -> RunSummary:
        return RunSummary(
            **{name: getattr(self, name) + getattr(other, name) for name in RunSummary.model_fields}
        )

    @property
    def not_passed(self) -> int:
        return self.failed + self.errors


class RunNotPassed(TestsFailed):
    """A run finished and not every result passed; the results, not the raiser, decide the code.

    A broken stack behind one test makes the run exit 3 and a broken spec 2, even
    when other tests merely failed (1); :func:`exit_code` reads them from here.
    """

    def __init__(self, message: str, results: Iterable[HasStatus]) -> None:
        super().__init__(message)
        self.results = list(results)


_KIND_CODE = {
    ErrorKind.CONFIG: ExitCode.USAGE,
    ErrorKind.INFRA: ExitCode.INFRA,
    ErrorKind.INTERRUPTED: ExitCode.INTERRUPTED,
}  # a timeout is the test's failure: TESTS_FAILED


def _code(result: HasStatus) -> ExitCode:
    if result.status is Status.FAILED:
        return ExitCode.TESTS_FAILED
    if result.status is Status.ERROR:
        kind = result.error_kind
        return _KIND_CODE.get(kind, ExitCode.TESTS_FAILED) if kind else ExitCode.TESTS_FAILED
    return ExitCode.OK


def exit_code(outcome: BaseException | Iterable[HasStatus]) -> ExitCode:
    """The documented exit code of an error or of a run's results: the one place that decides it.

    Errors map through :func:`ctt.errors.exit_code_for` (the only map from
    exceptions). Results map to the worst of them, and the codes are ordered
    by severity: interrupted (130) > infrastructure (3) > bad spec (2) >
    failed (1) > passed (0).
    """
    if isinstance(outcome, RunNotPassed):
        return max(_worst(outcome.results), ExitCode.TESTS_FAILED)
    if isinstance(outcome, BaseException):
        return exit_code_for(outcome)
    return _worst(outcome)


def _worst(results: Iterable[HasStatus]) -> ExitCode:
    return max((_code(r) for r in results), default=ExitCode.OK)

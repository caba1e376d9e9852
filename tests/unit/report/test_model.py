"""The shared result model: one Status, counts, and the one map from errors and results to exit codes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ctt.errors import ConfigError, ExitCode, InfraError, TestsFailed
from ctt.report.model import ErrorKind, RunNotPassed, RunSummary, Status, exit_code


@dataclass
class R:
    status: Status
    error_kind: ErrorKind | None = None


def test_summary_counts_each_status() -> None:
    s = RunSummary.of([Status.PASSED, Status.FAILED, Status.ERROR, Status.SKIPPED, Status.PASSED])
    assert (s.total, s.passed, s.failed, s.errors, s.skipped) == (5, 2, 1, 1, 1)
    assert s.not_passed == 2
    both = s + RunSummary.of([Status.PASSED], flaky=1)
    assert both.total == 6 and both.passed == 3 and both.flaky == 1


@pytest.mark.parametrize(
    ("results", "code"),
    [
        ([], ExitCode.OK),
        ([R(Status.PASSED), R(Status.SKIPPED)], ExitCode.OK),
        ([R(Status.PASSED), R(Status.FAILED)], ExitCode.TESTS_FAILED),
        ([R(Status.ERROR, ErrorKind.TIMEOUT)], ExitCode.TESTS_FAILED),
        ([R(Status.ERROR)], ExitCode.TESTS_FAILED),
        ([R(Status.FAILED), R(Status.ERROR, ErrorKind.CONFIG)], ExitCode.USAGE),
        ([R(Status.ERROR, ErrorKind.CONFIG), R(Status.ERROR, ErrorKind.INFRA)], ExitCode.INFRA),
        (
            [R(Status.ERROR, ErrorKind.INFRA), R(Status.ERROR, ErrorKind.INTERRUPTED)],
            ExitCode.INTERRUPTED,
        ),
    ],
)
def test_the_worst_result_decides_the_exit_code(results: list[R], code: ExitCode) -> None:
    assert exit_code(results) is code
    if code is not ExitCode.OK:
        assert exit_code(RunNotPassed("x", results)) is code


def test_errors_map_through_their_category() -> None:
    assert exit_code(ConfigError("bad")) is ExitCode.USAGE
    assert exit_code(InfraError("down")) is ExitCode.INFRA
    assert exit_code(TestsFailed("gate")) is ExitCode.TESTS_FAILED
    assert exit_code(KeyboardInterrupt()) is ExitCode.INTERRUPTED
    assert exit_code(RuntimeError("bug")) is ExitCode.INFRA
    # a run that did not pass never exits 0, whatever its results say
    assert exit_code(RunNotPassed("x", [R(Status.SKIPPED)])) is ExitCode.TESTS_FAILED

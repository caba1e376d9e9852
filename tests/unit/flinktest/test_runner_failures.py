"""Expected job failures on FakeEngine: the runner waits for FAILED, records the cause, validates."""

from __future__ import annotations

from pathlib import Path

from ctt.engines.base import FailureCause
from ctt.engines.fake import FakeScript
from ctt.report.model import ErrorKind, Status
from tests.unit.flinktest.test_runner import Harness, outputs, spec

CAUSE = FailureCause(
    exception="ArithmeticException", message="/ by zero", operator="Calc[3] -> out_t[4]"
)


def test_an_expected_failure_with_its_root_cause_passes(tmp_path: Path) -> None:
    h = Harness(FakeScript(fail_after_polls=3, failure=CAUSE, complete=False))
    extra = "    validation:\n      - job_fails_as_expected: 'ArithmeticException: / by zero'\n"
    (result,) = h.run(spec(tmp_path, extra=extra)).tests
    assert result.status is Status.PASSED, (result.message, result.log)
    (outcome,) = result.outcomes
    assert "t.yaml:4" in outcome.summary and "/ by zero" in outcome.summary
    assert any("job failed as the spec expects" in line for line in result.log)
    h.assert_clean()


def test_an_expected_failure_with_another_cause_fails(tmp_path: Path) -> None:
    h = Harness(FakeScript(fail_after_polls=3, failure=CAUSE, complete=False))
    extra = "    validation:\n      - job_fails_as_expected: NumberFormatException\n"
    (result,) = h.run(spec(tmp_path, extra=extra)).tests
    assert result.status is Status.FAILED
    assert "another reason: ArithmeticException" in (result.message or "")


def test_an_infrastructure_failure_is_never_the_expected_one(tmp_path: Path) -> None:
    cause = FailureCause(exception="ConnectException", message="refused", infrastructure=True)
    h = Harness(FakeScript(fail_after_polls=3, failure=cause, complete=False))
    extra = "    validation:\n      - job_fails_as_expected: ConnectException\n"
    (result,) = h.run(spec(tmp_path, extra=extra)).tests
    assert result.status is Status.ERROR and result.error_kind is ErrorKind.INFRA


def test_a_cleanup_that_crashes_keeps_the_verdict_and_the_run(tmp_path: Path) -> None:
    """A broker gone at cleanup once raised out of the runner and lost every result of the run."""
    columns = {"out_t": [("id", "BIGINT"), ("name", "STRING")]}
    h = Harness(FakeScript(outputs=outputs(), columns=columns))

    def broken(_topics: object) -> list[str]:
        raise TimeoutError("no answer")

    h.kafka.delete_topics = broken  # type: ignore[method-assign]
    (tmp_path / "second").mkdir()
    tests = spec(tmp_path) + spec(tmp_path / "second")
    report = h.run(tests)
    assert [r.status for r in report.tests] == [Status.PASSED, Status.PASSED]
    for r in report.tests:
        assert any("cleanup failed: TimeoutError: no answer" in line for line in r.log), r.log

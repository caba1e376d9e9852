"""Dead-letter routing, data loss and expected job failures on the real stack, per malformed kind.

The shipped specs under specs/errors/ run as a user runs them; variants break the routing
or the expectation and must fail with the reason in the message.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ctt.flinktest.results import TestResult
from ctt.flinktest.runner import FlinkTestRunner
from ctt.report.model import Status
from ctt.validate.registry import load_spec
from tests.integration.conftest import StackHandle

ROOT = Path(__file__).resolve().parents[2]
ERRORS = ROOT / "specs" / "errors"
KINDS = ["not_json", "wrong_type", "missing_field", "oversized", "bad_timestamp", "unknown_enum"]


@pytest.fixture(scope="module")
def malformed(stack: StackHandle) -> dict[str, TestResult]:
    report = FlinkTestRunner(stack.state, parallel=2).run(
        load_spec(ERRORS / "malformed_orders.yaml")
    )
    return {t.name: t for t in report.tests}


def _outcomes(result: TestResult) -> dict[str, Any]:
    return {o.name: o for o in result.outcomes}


@pytest.mark.parametrize("kind", [*KINDS, "all_kinds"])
def test_each_malformed_kind_reaches_the_dlq_with_its_reason(
    malformed: dict[str, TestResult], kind: str
) -> None:
    result = malformed[kind]
    assert result.status is Status.PASSED, (result.message, result.log[-5:])
    outs = _outcomes(result)
    assert {"dlq_routing", "no_data_loss", "error_rate_max", "job_survives", "rows_match"} <= set(
        outs
    )
    assert result.dead_letters
    reasons = {str(r["reason"]).split(":")[0] for r in result.dead_letters}
    assert reasons == (set(KINDS) if kind == "all_kinds" else {kind})
    assert result.metrics["restarts"] == 0
    total = outs["no_data_loss"].threshold
    assert result.records_out["order_lines"] + len(result.dead_letters) == total


def test_a_spec_expecting_survival_fails_on_a_poison_record(
    stack: StackHandle, tmp_path: Path
) -> None:
    """Without job_fails_as_expected, the poison record's failure is the test's failure, with
    Flink's root cause, the SQL line and the offending record in the message."""
    text = (ERRORS / "poison_record.yaml").read_text()
    old = (
        '      - job_fails_as_expected: {root_cause: "ArithmeticException: / by zero", restarts: 1}'
    )
    assert old in text
    spec = tmp_path / "poison.yaml"
    spec.write_text(text.replace(old, "      - job_survives: true"))
    (result,) = FlinkTestRunner(stack.state).run(load_spec(spec)).tests
    assert result.status is Status.FAILED
    msg = result.message or ""
    assert "ArithmeticException" in msg and "/ by zero" in msg
    assert f"{spec}:8" in msg  # the CREATE TABLE ... AS line
    assert '"quantity": 0' in msg and "offending record" in msg


def test_poison_spec_fails_as_expected(stack: StackHandle) -> None:
    (result,) = FlinkTestRunner(stack.state).run(load_spec(ERRORS / "poison_record.yaml")).tests
    assert result.status is Status.PASSED, result.message
    outcome = _outcomes(result)["job_fails_as_expected"]
    assert outcome.measured == 1.0  # restarts
    assert '"quantity": 0' in (outcome.details or "")


def test_wrong_root_cause_fails(stack: StackHandle, tmp_path: Path) -> None:
    text = (ERRORS / "poison_record.yaml").read_text()
    spec = tmp_path / "poison.yaml"
    spec.write_text(text.replace('"ArithmeticException: / by zero"', '"NumberFormatException"'))
    (result,) = FlinkTestRunner(stack.state).run(load_spec(spec)).tests
    assert result.status is Status.FAILED
    assert "another reason" in (result.message or "")


def test_routing_that_lets_a_kind_through_fails_the_test(
    stack: StackHandle, tmp_path: Path
) -> None:
    """The user's routing stops checking order_id: the wrong-type records reach the clean
    branch, whose CAST throws, and the job fails with that cause at the statement's line."""
    text = (ERRORS / "routing_sql.yaml").read_text()
    old = "          WHEN TRY_CAST(JSON_VALUE(payload, '$.order_id') AS BIGINT) IS NULL THEN 'bad order_id'\n"
    assert old in text
    spec = tmp_path / "routing.yaml"
    spec.write_text(text.replace(old, ""))
    (result,) = FlinkTestRunner(stack.state).run(load_spec(spec)).tests
    assert result.status is Status.FAILED
    assert "the job failed" in (result.message or ""), result.message
    assert "not-a-number" in (result.message or "") or "NumberFormat" in (result.message or ""), (
        result.message
    )


def test_mutate_kills_dlq_everything_and_dropped_branch() -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "ctt",
            "mutate",
            str(ERRORS / "routing_sql.yaml"),
            "--operator",
            "insert_drop",
            "--operator",
            "filter_removal",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert res.stdout, res.stderr[-3000:]
    (spec,) = json.loads(res.stdout)["specs"]
    status = {r["mutant"]["label"]: r["status"] for r in spec["results"]}
    assert status["INSERT INTO dead_letters dropped"] == "killed"
    assert status["WHERE `reason IS NOT NULL` removed"] == "killed"  # everything to the DLQ
    assert status["WHERE `reason IS NULL` removed"] == "killed"  # bad rows into clean_orders
    assert spec["survived"] == 0

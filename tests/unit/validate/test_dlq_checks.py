"""The dead-letter validators on synthetic contexts: each can pass, and each can fail."""

from __future__ import annotations

from typing import Any

import pytest

from ctt.config.spec import FlinkTest
from ctt.errors import ConfigError
from ctt.observed.model import (
    Column,
    InputRecord,
    OutputRow,
    SpecRef,
    StatementMetrics,
    TableOutput,
    ValidationContext,
)
from ctt.validate import registry

TEST = FlinkTest.model_validate(
    {
        "flink_sql": "CREATE TABLE o AS SELECT * FROM orders",
        "tables": {"orders": {"schema": {"id": "BIGINT", "k": "BIGINT"}, "key": "k"}},
        "test_data": {"orders": {"generate": {"count": 4}}},
        "error_handling": {"malformed": {"not_json": 1}},
    }
)
DLQ_COLS = [Column(name="payload", type="STRING"), Column(name="reason", type="STRING")]


def _good(i: int, part: int) -> InputRecord:
    return InputRecord(table="orders", row={"id": i, "k": i % 2}, partition=part)


def _bad(payload: str, part: int, kind: str = "not_json") -> InputRecord:
    return InputRecord(table="orders", row=None, malformed=kind, payload=payload, partition=part)


INPUTS = [_good(1, 1), _good(2, 0), _good(3, 1), _bad('{"id":', 0), _bad('{"x"', 1)]


def _ctx(
    out: list[dict[str, Any]],
    dlq: list[dict[str, Any]] | None,
    *,
    extra: dict[str, Any] | None = None,
    restarts: int | None = 0,
) -> ValidationContext:
    return ValidationContext(
        test="t",
        outputs={
            "o": TableOutput(
                table="o",
                columns=[Column(name="id", type="BIGINT"), Column(name="k", type="BIGINT")],
                records=[OutputRow(row=r) for r in out],
            )
        },
        dead_letters=None
        if dlq is None
        else TableOutput(table="dlq", columns=DLQ_COLS, records=[OutputRow(row=r) for r in dlq]),
        inputs=INPUTS,
        spec=SpecRef(test=TEST, file="s.yaml"),  # type: ignore[arg-type]
        metrics=StatementMetrics(restarts=restarts),
        extra=extra or {},
    )


GOOD_OUT = [{"id": 1, "k": 1}, {"id": 2, "k": 0}, {"id": 3, "k": 1}]
GOOD_DLQ = [{"payload": '{"id":', "reason": "not_json"}, {"payload": '{"x"', "reason": "not_json"}]


def run(name: str, raw: object, c: ValidationContext) -> Any:
    v = registry.get(name)
    return v.check(v.parse(raw), c)


def test_correct_routing_passes_every_check() -> None:
    c = _ctx(GOOD_OUT, GOOD_DLQ)
    for name, arg in (("dlq_routing", True), ("no_data_loss", True), ("error_rate_max", "40%")):
        assert run(name, arg, c).passed, run(name, arg, c).summary
    assert "per partition" in run("no_data_loss", True, c).summary


def test_a_missing_bad_record_fails_dlq_routing_and_no_data_loss() -> None:
    c = _ctx(GOOD_OUT, GOOD_DLQ[:1])
    assert (
        "1 malformed record(s) not in the DLQ (not_json: 1)" in run("dlq_routing", True, c).summary
    )
    loss = run("no_data_loss", True, c)
    assert not loss.passed and "partition 1" in loss.summary


def test_a_good_record_in_the_dlq_fails_dlq_routing() -> None:
    c = _ctx(GOOD_OUT[1:], [*GOOD_DLQ, {"payload": '{"id": 1, "k": 1}', "reason": "x"}])
    o = run("dlq_routing", True, c)
    assert not o.passed and "no malformed record sent" in o.summary


def test_a_row_without_a_reason_fails() -> None:
    c = _ctx(GOOD_OUT, [GOOD_DLQ[0], {**GOOD_DLQ[1], "reason": ""}])
    assert "without a reason" in run("dlq_routing", True, c).summary


def test_no_dead_letter_table_fails() -> None:
    o = run("dlq_routing", True, _ctx(GOOD_OUT, None))
    assert not o.passed and "wrote no dead-letter table" in o.summary


def test_lost_good_record_fails_no_data_loss_at_its_partition() -> None:
    o = run("no_data_loss", True, _ctx(GOOD_OUT[:2], GOOD_DLQ))
    assert not o.passed
    assert o.summary == "partition 1: sent 3, out 1 + DLQ 1"


def test_error_rate_over_budget_fails() -> None:
    o = run("error_rate_max", "39%", _ctx(GOOD_OUT, GOOD_DLQ))
    assert not o.passed and o.measured == pytest.approx(0.4)


def test_no_data_loss_needs_one_output() -> None:
    c = _ctx(GOOD_OUT, GOOD_DLQ)
    c.outputs["p"] = c.outputs["o"]
    with pytest.raises(ConfigError, match="name the output"):
        run("no_data_loss", True, c)
    assert run("no_data_loss", {"output": "o"}, c).passed


FAILURE = {
    "summary": "ArithmeticException in Calc: / by zero",
    "trace": "JobException: x\nArithmeticException: / by zero",
    "restarts": 2,
    "where": "s.yaml:3",
}


def test_job_survives() -> None:
    assert run("job_survives", True, _ctx(GOOD_OUT, GOOD_DLQ)).passed
    assert not run("job_survives", True, _ctx(GOOD_OUT, GOOD_DLQ, restarts=1)).passed
    failed = run("job_survives", True, _ctx([], [], extra={"job_failure": FAILURE}))
    assert not failed.passed and "/ by zero" in failed.summary


def test_job_fails_as_expected() -> None:
    c = _ctx([], [], extra={"job_failure": FAILURE})
    assert run("job_fails_as_expected", "arithmeticexception", c).passed
    assert run("job_fails_as_expected", {"root_cause": "/ by zero", "restarts": 2}, c).passed
    wrong = run("job_fails_as_expected", {"root_cause": "/ by zero", "restarts": 1}, c)
    assert not wrong.passed and "2 restarts" in wrong.summary
    other = run("job_fails_as_expected", "NumberFormatException", c)
    assert not other.passed and "another reason" in other.summary
    survived = run("job_fails_as_expected", "x", _ctx(GOOD_OUT, GOOD_DLQ))
    assert not survived.passed and "did not fail" in survived.summary


@pytest.mark.parametrize("raw", [None, "", 3, {"root": "x"}, {"root_cause": "x", "restarts": "n"}])
def test_job_fails_as_expected_rejects_bad_arguments(raw: object) -> None:
    with pytest.raises(ValueError):
        registry.get("job_fails_as_expected").parse(raw)


def test_reasons_must_name_the_kind() -> None:
    c = _ctx(GOOD_OUT, [GOOD_DLQ[0], {**GOOD_DLQ[1], "reason": "wrong_type: id"}])
    o = run("dlq_routing", True, c)  # generated routing: reasons start with the kind
    assert not o.passed and "does not name their kind" in o.summary
    assert run(
        "dlq_routing", {"reasons": {"not_json": "not_json"}}, _ctx(GOOD_OUT, GOOD_DLQ)
    ).passed
    other = run("dlq_routing", {"reasons": {"not_json": "unparseable"}}, _ctx(GOOD_OUT, GOOD_DLQ))
    assert not other.passed and "'unparseable'" in other.summary


@pytest.mark.parametrize("raw", ["yes", {"reasons": {"nope": "x"}}, {"reasons": {"not_json": ""}}])
def test_dlq_routing_rejects_bad_arguments(raw: object) -> None:
    with pytest.raises(ValueError):
        registry.get("dlq_routing").parse(raw)

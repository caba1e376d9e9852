"""Every shipped window and join spec passes on the real stack, with expected rows from the oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctt.config.spec import LoadedTest, discover
from ctt.flinktest.runner import FlinkTestRunner
from ctt.report.model import Status
from ctt.validate.registry import load_spec
from tests.integration.conftest import StackHandle

ROOT = Path(__file__).resolve().parents[2] / "specs"
SPECS = [p for d in ("windows", "joins") for p in discover([ROOT / d])]
TESTS: list[LoadedTest] = [lt for p in SPECS for lt in load_spec(p)]


def test_every_window_and_join_kind_is_shipped() -> None:
    sql = " ".join((lt.test.flink_sql or "").upper() for lt in TESTS)
    for construct in (
        "TABLE(TUMBLE",
        "GROUP BY USER_ID, TUMBLE(",
        "TABLE(HOP",
        "HOP(CLICK_TIME",
        "TABLE(CUMULATE",
        "TABLE(SESSION",
        "SESSION(CLICK_TIME",
        "FOR SYSTEM_TIME AS OF",
        "LEFT JOIN USERS FOR SYSTEM_TIME",
        "BETWEEN O.ORDER_TIME",
        "ROW_NUMBER()",
    ):
        assert construct in sql, construct


@pytest.mark.parametrize("lt", TESTS, ids=[lt.id for lt in TESTS])
def test_spec_passes_against_the_oracle(stack: StackHandle, lt: LoadedTest) -> None:
    report = FlinkTestRunner(stack.state, parallel=1).run([lt])
    (result,) = report.tests
    details = "\n".join(f"{o.name}: {o.summary}\n{o.details or ''}" for o in result.outcomes)
    assert result.status is Status.PASSED, f"{result.message}\n{details}\n" + "\n".join(result.log)
    assert result.outcomes, "a spec must validate something"
    if any("late_data_handling" in v for v in lt.test.validation):
        late = next(o for o in result.outcomes if o.name == "late_data_handling")
        assert int(late.properties["late_sent"]) > 0, "the spec should send late events"

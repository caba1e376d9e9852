"""job_survives with a restart budget: counts, time to recover, and arguments read as the spec writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.errors import ConfigError
from ctt.observed.model import Restart, StatementMetrics, ValidationContext
from ctt.validate import registry
from ctt.validate.registry import load_spec

ROOT = Path(__file__).resolve().parents[3]

V = registry.get("job_survives")


def _ctx(*seconds: float | None, flink_restarts: int | None = None) -> ValidationContext:
    restarts = [Restart(failed_at=10.0 * i, seconds=s, cause="X: y") for i, s in enumerate(seconds)]
    count = len(restarts) if flink_restarts is None else flink_restarts
    return ValidationContext(
        test="t", outputs={}, metrics=StatementMetrics(restarts=count), restarts=restarts
    )


def _check(raw: Any, ctx: ValidationContext) -> Any:
    return V.check(V.parse(raw), ctx)


def test_restarts_within_the_budget_pass_with_their_recovery_times() -> None:
    out = _check({"max_restarts": 2, "max_recovery_s": "30s"}, _ctx(4.25, 6.5))
    assert out.passed, out.summary
    assert "2 restart(s), time to recover 4.2s, 6.5s" in out.summary
    assert out.properties["restart_2_recovery_s"] == "6.50"
    assert (out.measured, out.threshold) == (2.0, 2.0)


def test_more_restarts_than_allowed_fail() -> None:
    out = _check({"max_restarts": 1}, _ctx(1.0, 1.0))
    assert not out.passed and "restarted 2 time(s) (at most 1 allowed)" in out.summary


def test_a_slow_recovery_fails_the_threshold() -> None:
    out = _check({"max_restarts": 1, "max_recovery_s": "5s"}, _ctx(12.0))
    assert not out.passed and "took 12.0s to recover (max 5s)" in out.summary


def test_restart_attempts_within_one_recovery_count_once() -> None:
    ctx = _ctx(2.0, flink_restarts=3)
    ctx.restarts[0].failures = 3  # two attempts found no slot before the job ran again
    out = _check({"max_restarts": 1}, ctx)
    assert out.passed and "(3 restart attempts in Flink)" in out.summary


def test_flinks_count_decides_when_ctt_watched_nothing() -> None:
    out = _check({"max_restarts": 1}, _ctx(flink_restarts=3))
    assert not out.passed and "restarted 3 time(s)" in out.summary


def test_true_allows_no_restart() -> None:
    assert _check(True, _ctx()).passed
    assert not _check(True, _ctx(1.0)).passed
    assert "time to recover not measured" in _check(True, _ctx(None)).summary


@pytest.mark.parametrize(
    "raw",
    ["yes", 1, {"max_restarts": -1}, {"max_restarts": 1, "typo": 2}, {"max_recovery_s": "soon"}],
)
def test_bad_arguments_are_spec_errors(raw: Any) -> None:
    with pytest.raises(ValueError, match="expected true, false or"):
        V.parse(raw)


@given(n=st.integers(0, 50), secs=st.integers(1, 3600))
def test_any_budget_reads_back(n: int, secs: int) -> None:
    got = V.parse({"max_restarts": n, "max_recovery_s": f"{secs}s"})
    assert (got.max_restarts, got.max_recovery_s) == (n, float(secs))


@pytest.mark.parametrize(
    ("state", "settings", "problem"),
    [
        ("    state: {restart_strategy: {type: none}}\n", "", "needs a restart strategy"),
        (
            "    state: {restart_strategy: {type: fixed_delay, attempts: 1}}\n",
            "",
            r"attempts is 1: Flink fails the job after 1 restart\(s\)",
        ),
        ("", "    settings: {restart-strategy.type: none}\n", "restart-strategy.type: none"),
    ],
)
def test_a_restart_budget_the_strategy_cannot_give_is_a_spec_error_at_its_line(
    tmp_path: Path, state: str, settings: str, problem: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "flink_transformation_tests:\n"
        "  t:\n"
        "    flink_sql: CREATE TABLE o AS SELECT id FROM src;\n"
        "    tables: {src: {schema: {id: BIGINT}}}\n"
        "    test_data: {src: {rows: [{id: 1}]}}\n"
        f"{state}{settings}"
        "    validation:\n"
        "      - job_survives: {max_restarts: 2}\n"
    )
    with pytest.raises(ConfigError, match=problem) as err:
        load_spec(path)
    assert err.value.location.endswith("s.yaml:8:9"), err.value.location


def test_a_budget_within_the_strategy_loads() -> None:
    (lt,) = load_spec(ROOT / "isolated-specs/recovery/survives_restart.yaml")
    assert lt.test.state is not None

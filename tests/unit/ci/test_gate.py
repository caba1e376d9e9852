"""Quality gates: each condition, modes, exit behaviour and the shipped example."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctt.ci.gate import Verdict, effective_mode, evaluate
from ctt.config.gates import GateMode, GatesConfig, load_gates
from ctt.errors import ConfigError
from ctt.report.metrics import (
    AccuracyValue,
    NewFailures,
    PerformanceEntry,
    TestMetrics,
    Totals,
)
from ctt.report.performance import Direction, MetricCheck, PerformanceReport, PerfVerdict
from ctt.report.results import RunMeta, SuiteSummary

REPO = Path(__file__).resolve().parents[3]


def _metrics(**kw: object) -> TestMetrics:
    base: dict[str, object] = {
        "generated_at": datetime.now(UTC),
        "run": RunMeta(run_key="r", created_at=datetime.now(UTC)),
        "totals": Totals(
            tests=100, passed=97, failed=2, skipped=0, flaky=1, pass_rate=0.97, flaky_share=0.01
        ),
        "suites": [
            SuiteSummary(name="unit", status="passed"),
            SuiteSummary(name="flink", status="skipped"),
        ],
        "new_failures": NewFailures(target_branch="main", baseline_run="m1", tests=[]),
        "streaming_data_accuracy": [AccuracyValue(suite="flink", value=0.999)],
        "performance": [
            PerformanceEntry(
                suite="unit", duration=13, baseline_median=10, baseline_runs=5, change=0.3
            )
        ],
    }
    base.update(kw)
    return TestMetrics.model_validate(base)


def _verdicts(m: TestMetrics, g: GatesConfig) -> dict[str, Verdict]:
    return {r.condition: r.verdict for r in evaluate(m, g, GateMode.BLOCKING).results}


def test_each_condition_passes_and_fails() -> None:
    g = GatesConfig(
        min_pass_rate=0.95,
        no_new_failures=True,
        max_flaky_share=0.02,
        min_streaming_data_accuracy=0.999,
        max_performance_regression=0.25,
        required_suites=["unit", "flink"],
    )
    v = _verdicts(_metrics(), g)
    assert v == {
        "min_pass_rate": Verdict.PASS,
        "no_new_failures": Verdict.PASS,
        "max_flaky_share": Verdict.PASS,
        "min_streaming_data_accuracy": Verdict.PASS,  # exactly 99.9% passes
        "max_performance_regression": Verdict.FAIL,
        "required_suites": Verdict.FAIL,  # flink was skipped
    }
    bad = _metrics(
        new_failures=NewFailures(target_branch="main", baseline_run="m1", tests=["k::t"]),
        streaming_data_accuracy=[AccuracyValue(suite="flink", value=0.998)],
    )
    v = _verdicts(bad, g)
    assert v["no_new_failures"] is Verdict.FAIL and v["min_streaming_data_accuracy"] is Verdict.FAIL


def test_nothing_to_judge_is_na_unless_required() -> None:
    m = _metrics(streaming_data_accuracy=[], performance=[])
    g = GatesConfig(min_streaming_data_accuracy=0.999, max_performance_regression=0.2)
    assert set(_verdicts(m, g).values()) == {Verdict.NA}
    g2 = GatesConfig(min_streaming_data_accuracy=0.999, require_streaming_data_accuracy=True)
    assert _verdicts(m, g2)["min_streaming_data_accuracy"] is Verdict.FAIL


def test_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_PIPELINE_SOURCE", "merge_request_event")
    assert effective_mode(GateMode.AUTO) is GateMode.BLOCKING
    monkeypatch.setenv("CI_PIPELINE_SOURCE", "schedule")
    assert effective_mode(GateMode.AUTO) is GateMode.ADVISORY
    assert effective_mode(GateMode.AUTO, GateMode.BLOCKING) is GateMode.BLOCKING
    g = GatesConfig(min_pass_rate=0.99, max_flaky_share=0.0, advisory=["max_flaky_share"])
    report = evaluate(_metrics(), g, GateMode.ADVISORY)
    assert report.failed == ["min_pass_rate", "max_flaky_share"] and not report.blocked
    only_advisory = evaluate(
        _metrics(),
        GatesConfig(max_flaky_share=0.0, advisory=["max_flaky_share"]),
        GateMode.BLOCKING,
    )
    assert only_advisory.failed and not only_advisory.blocked


def test_shipped_example_loads_and_typos_point_at_the_line(tmp_path: Path) -> None:
    g = load_gates(REPO / "continuous-testing/config/quality-gates.yaml")
    assert g.min_streaming_data_accuracy == pytest.approx(0.999) and g.mode is GateMode.AUTO
    assert g.mutation_score is not None and "mutation_score" in g.advisory
    bad = tmp_path / "g.yaml"
    bad.write_text("quality_gates:\n  min_pass_rate: 95%\n  max_flakey_share: 5%\n")
    with pytest.raises(ConfigError) as info:
        load_gates(bad)
    assert info.value.line == 3 and "max_flaky_share" in str(info.value)


def _mutation_report(path: Path, specs: dict[str, tuple[int, int]], **kw: object) -> Path:
    """A `ctt mutate --output` report with (killed, survived) per spec."""
    from ctt.mutate.models import MutationReport, SpecScore

    def score(name: str, killed: int, survived: int) -> SpecScore:
        scored = killed + survived
        return SpecScore(
            spec=name,
            mutants=scored,
            killed=killed,
            survived=survived,
            score=round(100.0 * killed / scored, 1) if scored else None,
        )

    total = score("total", sum(k for k, _ in specs.values()), sum(s for _, s in specs.values()))
    report = MutationReport(
        specs=[score(n, k, s) for n, (k, s) in specs.items()], total=total, **kw
    )
    path.write_text(report.model_dump_json(indent=2))
    return path


def test_mutation_score_total_and_per_spec(tmp_path: Path) -> None:
    from ctt.config.gates import MutationScoreGate

    report = _mutation_report(
        tmp_path / "m.json", {"specs/a.yaml": (9, 1), "specs/b.yaml": (10, 0)}
    )
    ok = GatesConfig(mutation_score=MutationScoreGate(report=report, min_score=0.95))
    (row,) = evaluate(_metrics(), ok, GateMode.BLOCKING).results
    assert (row.condition, row.verdict, row.actual, row.threshold) == (
        "mutation_score",
        Verdict.PASS,
        "95.0% (19/20)",  # exactly the minimum passes
        ">= 95%",
    )
    floor = GatesConfig(mutation_score=MutationScoreGate(report=report, min_spec_score=0.95))
    (row,) = evaluate(_metrics(), floor, GateMode.BLOCKING).results
    assert row.verdict is Verdict.FAIL and row.detail == "below: specs/a.yaml 90%"
    named = GatesConfig(
        mutation_score=MutationScoreGate(
            report=report, specs={"specs/a.yaml": 0.9, "specs/c.yaml": 0.5}
        )
    )
    (row,) = evaluate(_metrics(), named, GateMode.BLOCKING).results
    assert row.verdict is Verdict.FAIL and row.detail == "below: specs/c.yaml not in the report"
    report_low = _mutation_report(tmp_path / "low.json", {"specs/a.yaml": (8, 2)})
    low = GatesConfig(mutation_score=MutationScoreGate(report=report_low, min_score=0.9))
    result = evaluate(_metrics(), low, GateMode.BLOCKING)
    assert result.blocked and result.failed == ["mutation_score"]


def test_mutation_score_without_a_report_is_na_unless_required(tmp_path: Path) -> None:
    from ctt.config.gates import MutationScoreGate

    missing = tmp_path / "none.json"
    g = GatesConfig(mutation_score=MutationScoreGate(report=missing, min_score=0.9))
    (row,) = evaluate(_metrics(), g, GateMode.BLOCKING).results
    assert row.verdict is Verdict.NA and str(missing) in (row.detail or "")
    required = GatesConfig(
        mutation_score=MutationScoreGate(report=missing, min_score=0.9, require_report=True)
    )
    assert evaluate(_metrics(), required, GateMode.BLOCKING).blocked
    partial = _mutation_report(tmp_path / "p.json", {"specs/a.yaml": (10, 0)}, interrupted=True)
    g2 = GatesConfig(mutation_score=MutationScoreGate(report=partial, min_score=0.9))
    (row,) = evaluate(_metrics(), g2, GateMode.BLOCKING).results
    assert row.verdict is Verdict.FAIL and "interrupted" in (row.detail or "")
    garbage = tmp_path / "g.json"
    garbage.write_text('{"specs": 3}')
    g3 = GatesConfig(mutation_score=MutationScoreGate(report=garbage, min_score=0.9))
    with pytest.raises(ConfigError) as info:
        evaluate(_metrics(), g3, GateMode.BLOCKING)
    assert info.value.file == str(garbage) and "ctt mutate --output" in str(info.value)


def test_mutation_score_can_be_advisory_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(
        "quality_gates:\n"
        "  mutation_score: {report: m.json, min_score: 90%, min_spec_score: 80%}\n"
        "  advisory: [mutation_score]\n"
    )
    g = load_gates(path)
    assert g.mutation_score is not None and g.mutation_score.min_score == pytest.approx(0.9)
    report = _mutation_report(tmp_path / "m.json", {"specs/a.yaml": (1, 9)})
    g = g.model_copy(
        update={"mutation_score": g.mutation_score.model_copy(update={"report": report})}
    )
    result = evaluate(_metrics(), g, GateMode.BLOCKING)
    assert result.failed == ["mutation_score"] and not result.blocked


def _checks(*verdicts: PerfVerdict) -> PerformanceReport:
    return PerformanceReport(
        baseline_runs=10,
        min_samples=5,
        consecutive=3,
        checks=[
            MetricCheck(
                suite="flink",
                test=f"windows::t{i}",
                engine="local",
                metric="latency_p95_ms",
                unit="ms",
                direction=Direction.LOWER_IS_BETTER,
                verdict=v,
                current=250.0,
                baseline_median=None if v is PerfVerdict.NO_BASELINE else 100.0,
                baseline_runs=3 if v is PerfVerdict.NO_BASELINE else 10,
                margin=0.3,
                allowed=30.0,
                change=1.5,
                streak={PerfVerdict.REGRESSED: 3, PerfVerdict.WARNING: 1}.get(v, 0),
                consecutive=3,
            )
            for i, v in enumerate(verdicts)
        ],
    )


def test_performance_regression_block_warn_and_nothing_to_judge() -> None:
    block = GatesConfig(performance_regression="block")  # type: ignore[arg-type]
    warn = GatesConfig(performance_regression="warn")  # type: ignore[arg-type]
    m = _metrics(performance_checks=_checks(PerfVerdict.REGRESSED, PerfVerdict.WARNING))
    report = evaluate(m, block, GateMode.BLOCKING)
    (row,) = [r for r in report.results if r.condition == "performance_regression"]
    assert row.verdict is Verdict.FAIL and row.blocking and report.blocked
    assert row.actual == "1 regressed, 1 warnings (2 metrics judged)"
    assert row.detail is not None
    for part in ("windows::t0", "latency_p95_ms", "250 ms", "median 100", "10 passing runs"):
        assert part in row.detail
    assert "margin 30%" in row.detail and "3/3 runs in a row" in row.detail
    assert [c.verdict for c in report.performance_regressions] == ["regressed", "warning"]
    warned = evaluate(m, warn, GateMode.BLOCKING)
    assert warned.failed == ["performance_regression"] and not warned.blocked
    only_warnings = _metrics(performance_checks=_checks(PerfVerdict.WARNING, PerfVerdict.OK))
    assert _verdicts(only_warnings, block)["performance_regression"] is Verdict.PASS
    for nothing in (None, _checks(PerfVerdict.NO_BASELINE)):
        assert (
            _verdicts(_metrics(performance_checks=nothing), block)["performance_regression"]
            is Verdict.NA
        )
    advisory = GatesConfig(performance_regression="block", advisory=["performance_regression"])  # type: ignore[arg-type]
    assert not evaluate(m, advisory, GateMode.BLOCKING).blocked


def test_report_json_round_trips_the_regressions() -> None:
    m = _metrics(performance_checks=_checks(PerfVerdict.REGRESSED))
    report = evaluate(m, GatesConfig(performance_regression="block"), GateMode.BLOCKING)  # type: ignore[arg-type]
    data = report.model_dump(mode="json")
    assert data["performance_regressions"][0]["baseline_median"] == 100.0
    assert data["performance_regressions"][0]["current"] == 250.0

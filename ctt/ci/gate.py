"""Quality gates: decide from ``test-metrics.json`` whether a merge may go ahead.

Each configured condition yields one row (actual value, threshold, verdict).
Whether a failed condition *blocks* depends on the mode: ``blocking``,
``advisory``, or ``auto`` = blocking in merge request pipelines
(``CI_PIPELINE_SOURCE == merge_request_event``) and advisory elsewhere, as the
seed's ``quality-gates`` job (``allow_failure: false`` only for MRs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, computed_field

from ctt.config.gates import (
    GateMode,
    GatesConfig,
    MutationScoreGate,
    PerformanceRegressionGate,
    RegressionAction,
)
from ctt.errors import ConfigError
from ctt.mutate.models import MutationReport
from ctt.report.metrics import TestMetrics
from ctt.report.performance import MetricCheck, PerfVerdict

__all__ = [
    "GateReport",
    "GateResult",
    "Verdict",
    "effective_mode",
    "evaluate",
    "load_mutation_report",
]


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NA = "n/a"  # nothing to judge (no baseline, no measurement); never fails


class GateResult(BaseModel):
    condition: str
    actual: str
    threshold: str
    verdict: Verdict
    blocking: bool = Field(description="a fail of this condition blocks (in blocking mode)")
    detail: str | None = None


class GateReport(BaseModel):
    mode: GateMode = Field(description="effective mode: blocking or advisory")
    results: list[GateResult]
    performance_regressions: list[MetricCheck] = Field(
        default_factory=list,
        description="performance_regression: the regressed metrics, then the warnings",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> list[str]:
        return [r.condition for r in self.results if r.verdict is Verdict.FAIL]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def blocked(self) -> bool:
        """True when the merge must not go ahead (exit code 1)."""
        return self.mode is GateMode.BLOCKING and any(
            r.verdict is Verdict.FAIL and r.blocking for r in self.results
        )


def effective_mode(configured: GateMode, override: GateMode | None = None) -> GateMode:
    mode = override or configured
    if mode is GateMode.AUTO:
        source = os.environ.get("CI_PIPELINE_SOURCE", "")
        return GateMode.BLOCKING if source == "merge_request_event" else GateMode.ADVISORY
    return mode


_EPS = 1e-9  # "99.9%" parses to 0.9990000000000001; equal must pass


def _pct(v: float) -> str:
    return f"{v * 100:.2f}%".replace(".00%", "%")


def load_mutation_report(path: Path) -> MutationReport | None:
    """``ctt mutate --output``'s report, None when there is none; ConfigError when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the mutation report: {exc.strerror}", file=str(path)
        ) from None
    try:
        return MutationReport.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"not a `ctt mutate --output` report: {where + ': ' if where else ''}{first['msg']}",
            file=str(path),
        ) from None


_Add = Callable[[str, str, str, "bool | None", "str | None"], None]
_SHOWN = 5


def _performance_regression(
    gate: PerformanceRegressionGate, metrics: TestMetrics, add: _Add
) -> list[MetricCheck]:
    """One row: metrics beyond the margin ``consecutive`` runs in a row fail it; returns the
    regressed and warned checks (the JSON output lists them)."""
    report = metrics.performance_checks
    threshold = f"0 regressed ({gate.action.value})"
    if report is None or not report.checks:
        add(
            "performance_regression",
            "no metrics",
            threshold,
            None,
            "no test reported performance metrics, or `ctt aggregate` ran without history",
        )
        return []
    regressed = report.of(PerfVerdict.REGRESSED)
    warned = report.of(PerfVerdict.WARNING)
    judged = [c for c in report.checks if c.verdict is not PerfVerdict.NO_BASELINE]
    rule = (
        f"beyond the margin {report.consecutive} runs in a row vs the median of the last "
        f"{report.baseline_runs} passing runs (>= {report.min_samples} needed)"
    )
    if not judged:
        add(
            "performance_regression",
            f"no baseline ({len(report.checks)} metrics)",
            threshold,
            None,
            f"fewer than {report.min_samples} passing runs in history for every test; {rule}",
        )
        return []
    lines = [c.describe() for c in regressed[:_SHOWN]]
    if len(regressed) > _SHOWN:
        lines.append(f"... {len(regressed) - _SHOWN} more regressed")
    lines += [f"warning: {c.describe()}" for c in warned[:_SHOWN]]
    if len(warned) > _SHOWN:
        lines.append(f"... {len(warned) - _SHOWN} more warnings")
    add(
        "performance_regression",
        f"{len(regressed)} regressed, {len(warned)} warnings ({len(judged)} metrics judged)",
        threshold,
        not regressed,
        "; ".join([*lines, rule]),
    )
    return [*regressed, *warned]


def _mutation_score(gate: MutationScoreGate, add: _Add) -> None:
    """One row: the total score, every spec's floor and the named specs' own minimums."""
    limits = []
    if gate.min_score is not None:
        limits.append(f">= {_pct(gate.min_score)}")
    if gate.min_spec_score is not None:
        limits.append(f"each spec >= {_pct(gate.min_spec_score)}")
    limits += [f"{name} >= {_pct(v)}" for name, v in gate.specs.items()]
    threshold = ", ".join(limits) or "a report"
    report = load_mutation_report(gate.report)
    if report is None:
        add(
            "mutation_score",
            "no report",
            threshold,
            False if gate.require_report else None,
            f"{gate.report} not found (written by `ctt mutate --output {gate.report}`)",
        )
        return
    t = report.total
    scored = t.killed + t.survived
    actual = "nothing scored" if t.score is None else f"{t.score:.1f}% ({t.killed}/{scored})"
    low: list[str] = []
    if gate.min_score is not None and (t.score is None or t.score / 100 + _EPS < gate.min_score):
        low.append(f"total {actual}")
    by_name = {s.spec: s for s in report.specs}
    floors = {s.spec: gate.min_spec_score for s in report.specs if gate.min_spec_score is not None}
    for name, limit in {**floors, **gate.specs}.items():
        s = by_name.get(name)
        if s is None:
            low.append(f"{name} not in the report")
        elif s.score is not None and s.score / 100 + _EPS < limit:
            low.append(f"{name} {s.score:.0f}%")
    notes = [f"{t.errored + t.timeout} errored or timed out"] if t.errored + t.timeout else []
    if t.equivalent:
        notes.append(f"{t.equivalent} marked equivalent")
    if report.interrupted:
        low.append("the run was interrupted (partial report)")
    detail = "; ".join([*(["below: " + ", ".join(low)] if low else []), *notes]) or None
    add("mutation_score", actual, threshold, not low, detail)


def evaluate(metrics: TestMetrics, gates: GatesConfig, mode: GateMode | None = None) -> GateReport:
    """Every configured gate as one row of actual, threshold and verdict, in the config's order.

    Longer than 80 lines on purpose: it is a flat list of one ``if`` per gate, each a few lines
    that read the metric and call ``add``; split up, the order of the table and the one place a
    reader checks "which gates exist" would be spread over as many functions as there are gates.
    """
    rows: list[GateResult] = []

    def add(
        name: str, actual: str, threshold: str, ok: bool | None, detail: str | None = None
    ) -> None:
        verdict = Verdict.NA if ok is None else Verdict.PASS if ok else Verdict.FAIL
        blocking = name not in gates.advisory
        if name == "performance_regression" and gates.performance_regression is not None:
            blocking = blocking and gates.performance_regression.action is RegressionAction.BLOCK
        rows.append(
            GateResult(
                condition=name,
                actual=actual,
                threshold=threshold,
                verdict=verdict,
                blocking=blocking,
                detail=detail,
            )
        )

    t = metrics.totals
    if gates.min_pass_rate is not None:
        detail = None
        if metrics.missing_suites:
            detail = "missing suites count as errors: " + ", ".join(metrics.missing_suites)
        add(
            "min_pass_rate",
            f"{_pct(t.pass_rate)} ({t.passed}/{t.tests - t.skipped})",
            f">= {_pct(gates.min_pass_rate)}",
            t.pass_rate + _EPS >= gates.min_pass_rate,
            detail,
        )
    if gates.no_new_failures:
        nf = metrics.new_failures
        base = (
            f"vs {nf.target_branch} run {nf.baseline_run}"
            if nf.baseline_run
            else f"no {nf.target_branch or 'target'} run in history: every failure counts as new"
        )
        shown = ", ".join(nf.tests[:5]) + (" ..." if len(nf.tests) > 5 else "")
        add(
            "no_new_failures",
            str(len(nf.tests)),
            "0",
            not nf.tests,
            f"{base}{'; ' + shown if shown else ''}",
        )
    if gates.max_flaky_share is not None:
        add(
            "max_flaky_share",
            f"{_pct(t.flaky_share)} ({t.flaky} flaky)",
            f"<= {_pct(gates.max_flaky_share)}",
            t.flaky_share - _EPS <= gates.max_flaky_share,
        )
    if gates.min_streaming_data_accuracy is not None:
        values = metrics.streaming_data_accuracy
        if not values:
            add(
                "min_streaming_data_accuracy",
                "not reported",
                f">= {_pct(gates.min_streaming_data_accuracy)}",
                False if gates.require_streaming_data_accuracy else None,
                "no suite or test reported streaming_data_accuracy",
            )
        else:
            worst = min(values, key=lambda a: a.value)
            add(
                "min_streaming_data_accuracy",
                f"{worst.value * 100:.3f}%",
                f">= {_pct(gates.min_streaming_data_accuracy)}",
                worst.value + _EPS >= gates.min_streaming_data_accuracy,
                f"lowest: {worst.suite}{' / ' + worst.test if worst.test else ''}"
                f" ({len(values)} values)",
            )
    if gates.max_performance_regression is not None:
        perf = metrics.performance
        if not perf:
            add(
                "max_performance_regression",
                "no baseline",
                f"<= {_pct(gates.max_performance_regression)}",
                None,
                "needs at least 3 recent passing runs of a suite in history",
            )
        else:
            worst_p = max(perf, key=lambda p: p.change)
            add(
                "max_performance_regression",
                f"{worst_p.change * 100:+.1f}% ({worst_p.suite})",
                f"<= {_pct(gates.max_performance_regression)}",
                worst_p.change - _EPS <= gates.max_performance_regression,
                f"{worst_p.duration:.1f}s vs median {worst_p.baseline_median:.1f}s "
                f"of {worst_p.baseline_runs} runs",
            )
    if gates.required_suites:
        ran = {s.name for s in metrics.suites if s.status not in ("skipped", "missing")}
        missing = [s for s in gates.required_suites if s not in ran]
        add(
            "required_suites",
            f"{len(gates.required_suites) - len(missing)}/{len(gates.required_suites)} ran",
            "all",
            not missing,
            f"did not run: {', '.join(missing)}" if missing else None,
        )
    if gates.mutation_score is not None:
        _mutation_score(gates.mutation_score, add)
    flagged: list[MetricCheck] = []
    if gates.performance_regression is not None:
        flagged = _performance_regression(gates.performance_regression, metrics, add)
    return GateReport(
        mode=effective_mode(gates.mode, mode), results=rows, performance_regressions=flagged
    )

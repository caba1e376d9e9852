"""Performance regression detection: each test's metrics against its own recent history.

For one test, engine and metric the history is the series of values of the test's *passing*
runs, oldest first, the current run last. A point is *beyond the margin* when it is worse than
the median of the (up to) ``baseline_runs`` passing runs before it by more than
``max(margin x median, the metric's floor)``, worse meaning lower for throughput and higher for
latencies, durations and counts of bad things. The current run is:

- ``no_baseline`` while fewer than ``min_samples`` passing runs precede it;
- ``regressed`` when it and the ``consecutive - 1`` points before it are all beyond the margin;
- ``warning`` when it is beyond the margin but the streak is shorter (a single outlier);
- ``ok`` otherwise.

The median ignores outliers as long as they are fewer than half its window, which is why the
config refuses ``consecutive`` above half of ``baseline_runs``: a lasting step is then flagged
after exactly ``consecutive`` runs, and it becomes the new baseline once it fills half the
window (about ``baseline_runs / 2`` runs later), so a change that was meant stops being flagged.

:func:`judge` is the pure part; :func:`check_run` applies it to a run with the history store's
series (:meth:`ctt.ci.history.HistoryStore.metric_series`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from ctt.config.gates import PerformanceRegressionGate
from ctt.errors import ConfigError
from ctt.report.junit import TestCaseResult
from ctt.report.model import Status
from ctt.report.performance import (
    CATALOG,
    Direction,
    HistoryPoint,
    MetricCheck,
    MetricDef,
    PerformanceReport,
    PerfVerdict,
    TrendSample,
    case_performance,
)

__all__ = [
    "MAX_CHECKS",
    "Judgement",
    "check_run",
    "current_cases",
    "history_limit",
    "judge",
    "margins_of",
    "settings_from",
]

MAX_CHECKS = 2000
"""Checks kept in test-metrics.json: regressions and warnings first, then the rest."""
TREND_POINTS = 30


class Judgement(BaseModel):
    """What :func:`judge` decided about the last point of a series."""

    verdict: PerfVerdict
    baseline_median: float | None
    baseline_runs: int
    allowed: float | None
    change: float | None
    streak: int
    beyond: list[bool]


def _worse_by(value: float, median: float, direction: Direction) -> float:
    """How much worse ``value`` is than ``median`` (negative: better)."""
    return value - median if direction is Direction.LOWER_IS_BETTER else median - value


def judge(
    series: Sequence[float],
    metric: MetricDef,
    settings: PerformanceRegressionGate,
    margin: float | None = None,
) -> Judgement:
    """The verdict on ``series[-1]`` (passing runs only, oldest first, current last)."""
    if not series:
        raise ValueError("judge needs at least the current value")
    rel = metric.margin if margin is None else margin
    beyond: list[bool] = []
    median: float | None = None
    window: list[float] = []
    for i, value in enumerate(series):
        window = list(series[max(0, i - settings.baseline_runs) : i])
        if len(window) < settings.min_samples:
            median = None
            beyond.append(False)
            continue
        median = statistics.median(window)
        allowed = max(rel * abs(median), metric.min_delta)
        beyond.append(_worse_by(value, median, metric.direction) > allowed)
    current = series[-1]
    if median is None:
        return Judgement(
            verdict=PerfVerdict.NO_BASELINE,
            baseline_median=None,
            baseline_runs=len(window),
            allowed=None,
            change=None,
            streak=0,
            beyond=beyond,
        )
    streak = 0
    for flag in reversed(beyond):
        if not flag:
            break
        streak += 1
    if streak == 0:
        verdict = PerfVerdict.OK
    elif streak < settings.consecutive:
        verdict = PerfVerdict.WARNING
    else:
        verdict = PerfVerdict.REGRESSED
    worse = _worse_by(current, median, metric.direction)
    return Judgement(
        verdict=verdict,
        baseline_median=median,
        baseline_runs=len(window),
        allowed=max(rel * abs(median), metric.min_delta),
        change=worse / abs(median) if median else None,
        streak=streak,
        beyond=beyond,
    )


def margins_of(settings: PerformanceRegressionGate, source: Path | None = None) -> dict[str, float]:
    """Each checked metric's margin: the config's where it names one, else the catalog's."""
    unknown = sorted(set(settings.margins) - set(CATALOG))
    if unknown:
        raise ConfigError(
            f"performance_regression.margins names {unknown[0]!r}, which ctt does not measure",
            file=str(source) if source else None,
            hint="metrics: " + ", ".join(n for n, m in CATALOG.items() if m.checked),
        )
    return {n: settings.margins.get(n, m.margin) for n, m in CATALOG.items() if m.checked}


def settings_from(gates_file: Path, *, required: bool = False) -> PerformanceRegressionGate:
    """The gate file's ``performance_regression`` settings; the defaults without the key, or
    without the file unless ``required`` (a file the user named must exist)."""
    from ctt.config.gates import load_gates

    if not gates_file.exists() and not required:
        return PerformanceRegressionGate()
    return load_gates(gates_file).performance_regression or PerformanceRegressionGate()


CurrentCase = tuple[str, str, str, dict[str, float]]
"""(suite, test key, engine, metric values) of a passing case of the current run."""


def current_cases(
    suites: Iterable[str], results: Iterable[Iterable[TestCaseResult]]
) -> list[CurrentCase]:
    """The passing cases of a run that reported performance metrics."""
    out: list[CurrentCase] = []
    for suite, cases in zip(suites, results, strict=True):
        for case in cases:
            if case.status is not Status.PASSED:
                continue
            perf = case_performance(case)
            if perf is not None and perf.values:
                out.append((suite, case.key, perf.engine, perf.values))
    return out


def _label(p: HistoryPoint) -> str:
    return f"{p.created_at:%m-%d %H:%M} {(p.commit or '')[:8]}".strip()


def check_run(
    cases: list[CurrentCase],
    history: dict[tuple[str, str, str], list[HistoryPoint]],
    settings: PerformanceRegressionGate,
    *,
    run_key: str,
    run_label: str,
    margins: dict[str, float] | None = None,
) -> PerformanceReport:
    """Every checked metric of every case against ``history[(test, engine, metric)]``
    (earlier passing runs, oldest first)."""
    margins = margins if margins is not None else margins_of(settings)
    checks: list[MetricCheck] = []
    for suite, test, engine, values in cases:
        for name, value in values.items():
            metric = CATALOG[name]
            if not metric.checked:
                continue
            before = history.get((test, engine, name), [])
            series = [p.value for p in before] + [value]
            j = judge(series, metric, settings, margins[name])
            shown = [*before, HistoryPoint(run_key=run_key, created_at=datetime.min, value=value)]
            flags = j.beyond
            trend = [
                TrendSample(
                    run_key=p.run_key,
                    label=run_label if p.run_key == run_key else _label(p),
                    value=p.value,
                    beyond=flag,
                )
                for p, flag in list(zip(shown, flags, strict=True))[-TREND_POINTS:]
            ]
            checks.append(
                MetricCheck(
                    suite=suite,
                    test=test,
                    engine=engine,
                    metric=name,
                    unit=metric.unit,
                    direction=metric.direction,
                    verdict=j.verdict,
                    current=value,
                    baseline_median=j.baseline_median,
                    baseline_runs=j.baseline_runs,
                    margin=margins[name],
                    allowed=j.allowed,
                    change=j.change,
                    streak=j.streak,
                    consecutive=settings.consecutive,
                    trend=trend,
                )
            )
    order = {PerfVerdict.REGRESSED: 0, PerfVerdict.WARNING: 1, PerfVerdict.OK: 2}
    checks.sort(key=lambda c: (order.get(c.verdict, 3), c.test, c.metric))
    return PerformanceReport(
        baseline_runs=settings.baseline_runs,
        min_samples=settings.min_samples,
        consecutive=settings.consecutive,
        checks=checks[:MAX_CHECKS],
        truncated=len(checks) > MAX_CHECKS,
    )


def history_limit(settings: PerformanceRegressionGate) -> int:
    """Earlier passing runs needed: a baseline for each point of the streak, and the trend."""
    return max(settings.baseline_runs + settings.consecutive, TREND_POINTS)

"""Merge JUnit files and results JSON of one run into a consolidated run, metrics and reports.

Inputs come from many CI jobs (``test-results/junit-<suite>.xml`` and
``results-<suite>.json``) or from one ``ctt run --plan``. Bad input never
stops aggregation: an unreadable or truncated JUnit file, a results JSON
that does not parse, or a planned suite with no result at all is listed as a
problem and turned into an *error* test case, so it can never pass silently.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from ctt.ci.execute import SUITE_CASE, SuiteRunResult, junit_path
from ctt.ci.history import HistoryStore, TestStats
from ctt.ci.perf_regression import check_run, current_cases, history_limit, margins_of
from ctt.config.durations import parse_percent
from ctt.config.gates import PerformanceRegressionGate
from ctt.report.junit import (
    TestCaseResult,
    TestSuiteResult,
    read_junit,
)
from ctt.report.metrics import (
    DEAD_LETTERS_KEY,
    AccuracyValue,
    DeadLetterEntry,
    FailureEntry,
    FlakyEntry,
    NewFailures,
    PerformanceEntry,
    RestartEntry,
    TestMetrics,
    Totals,
    TrendPoint,
    parse_dead_letters,
    restart_entry,
)
from ctt.report.model import RunSummary, Status
from ctt.report.performance import PerformanceReport
from ctt.report.results import ConsolidatedRun, RunMeta, SuiteSummary

__all__ = ["ACCURACY_KEY", "MERGED_JUNIT", "collect", "compute_metrics", "find_inputs"]

ACCURACY_KEY = "streaming_data_accuracy"
MERGED_JUNIT = "consolidated-junit.xml"
MAX_FAILURES = 1000
_DETAILS_MAX = 4096


def find_inputs(paths: Iterable[Path]) -> tuple[list[Path], list[Path], list[str]]:
    """JUnit files and results JSON under ``paths`` (files or directories), plus problems."""
    junits: list[Path] = []
    results: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_file():
            (results if path.suffix == ".json" else junits).append(path)
            continue
        if not path.is_dir():
            problems.append(f"{path}: no such file or directory")
            continue
        for f in sorted(path.rglob("*")):
            if ".attempts" in f.parts or not f.is_file() or f.name == MERGED_JUNIT:
                continue
            if f.suffix == ".xml":
                junits.append(f)
            elif f.name.startswith("results-") and f.suffix == ".json":
                results.append(f)
    return junits, results, problems


def _suite_name_from_file(path: Path) -> str:
    stem = path.stem
    return stem[len("junit-") :] if stem.startswith("junit-") else stem


def _status(cases: list[TestCaseResult]) -> str:
    if any(c.status is Status.ERROR for c in cases):
        return "error"
    if any(c.status is Status.FAILED for c in cases):
        return "failed"
    if cases and all(c.status is Status.SKIPPED for c in cases):
        return "skipped"
    return "passed"


def _error_suite(name: str, message: str, *, case: str = SUITE_CASE) -> TestSuiteResult:
    """A suite with one error case: what a planned suite without a usable result counts as."""
    return TestSuiteResult(
        name=name,
        cases=[TestCaseResult(name=case, classname=name, status=Status.ERROR, message=message)],
    )


def collect(
    inputs: Iterable[Path],
    *,
    planned: list[str] | None = None,
    meta: RunMeta | None = None,
) -> ConsolidatedRun:
    """Read every input into one :class:`ConsolidatedRun`; never raises for bad files.

    Files are parsed in this process: handing 100,000 parsed cases back from worker
    processes costs more in pickling than the parsing it saves (measured: 13 s vs 3 s).
    Results files, JUnit files and the planned suites are matched by suite name, so no
    suite is lost between them.
    """
    junit_files, result_files, problems = find_inputs(inputs)
    meta = meta or RunMeta.from_env()
    run_results = _read_results(result_files, problems)
    per_suite, files_of = _read_junits(junit_files, run_results, problems)
    names = list(dict.fromkeys([*(planned or []), *run_results, *per_suite]))
    summaries: list[SuiteSummary] = []
    results: list[TestSuiteResult] = []
    suite_of: list[str] = []
    for name in names:
        found = run_results.get(name)
        junit_suites = per_suite.get(name) or _stand_in(name, found, problems)
        summary = _summary(name, junit_suites, found, problems)
        summary.junit_files = files_of.get(name, [])
        if name not in per_suite and found is None:
            summary.status = "missing"
        summaries.append(summary)
        results.extend(junit_suites)
        suite_of.extend(name for _ in junit_suites)
    return ConsolidatedRun(
        meta=meta,
        suites=summaries,
        results=results,
        suite_of=suite_of,
        problems=problems,
        wall_seconds=_wall(run_results.values()),
    )


def _read_results(files: list[Path], problems: list[str]) -> dict[str, SuiteRunResult]:
    """The results JSON of each suite, by suite name; an unreadable file is a problem."""
    found: dict[str, SuiteRunResult] = {}
    for rf in files:
        try:
            res = SuiteRunResult.model_validate_json(rf.read_bytes())
        except (OSError, ValidationError, ValueError) as exc:
            problems.append(f"{rf}: results JSON unreadable ({type(exc).__name__}); ignored")
            continue
        found[res.name] = res
    return found


def _read_junits(
    files: list[Path], run_results: dict[str, SuiteRunResult], problems: list[str]
) -> tuple[dict[str, list[TestSuiteResult]], dict[str, list[str]]]:
    """JUnit suites and file names per ctt suite: the suite whose results JSON names the file,
    else the file's name; an incomplete file adds an error case."""
    junit_owner = {
        Path(res.junit or junit_path(Path(), res.name)).name: res.name
        for res in run_results.values()
    }
    per_suite: dict[str, list[TestSuiteResult]] = {}
    files_of: dict[str, list[str]] = {}
    for path in files:
        read = read_junit(path)
        owner = junit_owner.get(path.name) or _suite_name_from_file(path)
        problems.extend(str(p) for p in read.problems)
        suites = list(read.suites)
        if not read.complete:
            reason = next(p.message for p in read.problems if p.fatal)
            suites.append(
                _error_suite(
                    owner, f"JUnit file incomplete: {reason}", case=f"{SUITE_CASE} {path.name}"
                )
            )
        per_suite.setdefault(owner, []).extend(suites)
        files_of.setdefault(owner, []).append(str(path))
    return per_suite, files_of


def _stand_in(
    name: str, found: SuiteRunResult | None, problems: list[str]
) -> list[TestSuiteResult]:
    """The error suite that stands for a suite without JUnit cases."""
    if found is None:
        problems.append(f"suite {name!r} was planned but left no result; counted as an error")
        return [_error_suite(name, "planned but no result (no JUnit, no results JSON)")]
    problems.append(f"suite {name!r}: results JSON but no JUnit file; counted as an error")
    return [_error_suite(name, "JUnit file missing")]


def _summary(
    name: str,
    junit_suites: list[TestSuiteResult],
    found: SuiteRunResult | None,
    problems: list[str],
) -> SuiteSummary:
    """One suite's summary from its JUnit cases, and its results JSON when there is one."""
    cases = [c for s in junit_suites for c in s.cases]
    status = _status(cases)
    if found is not None and found.status == "skipped":
        status = "skipped"
    return SuiteSummary(
        name=name,
        kind=found.kind if found else "junit",
        status=status,
        reason=found.reason if found else None,
        duration=found.duration if found else sum(s.time or 0.0 for s in junit_suites),
        expected_seconds=found.expected_seconds if found else None,
        attempts=len(found.attempts) if found and found.attempts else 1,
        metrics=_suite_metrics(name, junit_suites, found, problems),
        **RunSummary.of_cases(cases).counts(),
    )


def _suite_metrics(
    name: str,
    junit_suites: list[TestSuiteResult],
    found: SuiteRunResult | None,
    problems: list[str],
) -> dict[str, float]:
    """The results JSON's metrics, then the ``ctt.metric.*`` properties of the JUnit suites."""
    metrics = dict(found.metrics) if found else {}
    for s in junit_suites:
        for key, value in s.properties.items():
            if key.startswith("ctt.metric."):
                try:
                    metrics.setdefault(key[len("ctt.metric.") :], float(value))
                except ValueError:
                    problems.append(f"suite {name!r}: metric {key}={value!r} is not a number")
    return metrics


def _wall(run_results: Iterable[SuiteRunResult]) -> float | None:
    """From the first suite's start to the last suite's end, when the results say when."""
    spans = [(r.started, r.duration) for r in run_results if r.started is not None]
    if not spans:
        return None
    start = min(s for s, _ in spans)
    end = max(s.timestamp() + d for s, d in spans)
    return max(end - start.timestamp(), 0.0)


def _share(value: str | float) -> float | None:
    try:
        if isinstance(value, str) and value.strip().endswith("%"):
            return parse_percent(value.strip())
        number = float(value)
    except ValueError:
        return None
    if math.isnan(number) or number < 0:
        return None
    return number / 100.0 if number > 1.0 else number


def _accuracy(run: ConsolidatedRun) -> list[AccuracyValue]:
    values: list[AccuracyValue] = []
    for s in run.suites:
        if ACCURACY_KEY in s.metrics:
            share = _share(s.metrics[ACCURACY_KEY])
            if share is not None:
                values.append(AccuracyValue(suite=s.name, value=share))
    for suite, res in zip(run.suite_of, run.results, strict=True):
        for case in res.cases:
            raw = case.properties.get(ACCURACY_KEY)
            if raw is not None:
                share = _share(raw)
                if share is None:
                    run.problems.append(f"{case.key}: {ACCURACY_KEY}={raw!r} is not a share")
                else:
                    values.append(AccuracyValue(suite=suite, test=case.key, value=share))
    return values


def compute_metrics(
    run: ConsolidatedRun,
    store: HistoryStore | None,
    *,
    planned: list[str] | None = None,
    trend_runs: int = 30,
    baseline_runs: int = 10,
    history_label: str | None = None,
    perf: PerformanceRegressionGate | None = None,
) -> TestMetrics:
    """Totals, failures, flakiness, accuracy, regressions and trends (history when given).

    ``perf`` sets how each test's metrics are compared with its history (defaults without).
    """
    cases = _CaseSections(run)
    new = NewFailures(target_branch=run.meta.target_branch, tests=sorted(set(cases.failing_keys)))
    trend: list[TrendPoint] = []
    performance: list[PerformanceEntry] = []
    checks: PerformanceReport | None = None
    if store is not None:
        checks = _performance_checks(store, run, perf or PerformanceRegressionGate())
        new = _new_failures(store, run, cases.failing_keys) or new
        trend = [
            TrendPoint.model_validate(p, from_attributes=True) for p in store.trend(trend_runs)
        ]
        durations = {s.name: s.duration for s in run.suites if s.status == "passed"}
        performance = [
            PerformanceEntry.model_validate(r, from_attributes=True)
            for r in store.regressions(durations, limit=baseline_runs, exclude=run.meta.run_key)
        ]
        _add_flaky_history(cases.flaky, store.test_stats(trend_runs)[:200])
    flaky_list = sorted(
        cases.flaky.values(), key=lambda f: (-(f.flakiness or 0.0), -f.attempts, f.test)
    )
    return TestMetrics(
        generated_at=datetime.now(UTC),
        run=run.meta,
        totals=cases.totals,
        suites=run.suites,
        planned_suites=planned or [],
        missing_suites=[s.name for s in run.suites if s.status == "missing"],
        failures=cases.failures,
        failures_truncated=len(cases.failing_keys) > len(cases.failures),
        new_failures=new,
        flaky_tests=flaky_list,
        streaming_data_accuracy=_accuracy(run),
        performance=performance,
        performance_checks=checks,
        trend=trend,
        problems=run.problems,
        history=history_label,
        dead_letters=cases.dead_letters,
        restarts=cases.restarts,
    )


class _CaseSections:
    """What one pass over a run's cases yields: totals, failures (at most MAX_FAILURES), the
    keys of every failing test and the flaky tests, so a large run is read once."""

    def __init__(self, run: ConsolidatedRun) -> None:
        self.failures: list[FailureEntry] = []
        self.flaky: dict[str, FlakyEntry] = {}
        self.failing_keys: list[str] = []
        self.dead_letters: list[DeadLetterEntry] = []
        self.restarts: list[RestartEntry] = []
        self._statuses: Counter[Status] = Counter()  # counted here, set on totals once
        self._flaky = 0
        for suite, res in zip(run.suite_of, run.results, strict=True):
            for c in res.cases:
                self._add(suite, c)
                if DEAD_LETTERS_KEY in c.properties:
                    entry = parse_dead_letters(suite, c.key, c.properties[DEAD_LETTERS_KEY])
                    if entry is not None:
                        self.dead_letters.append(entry)
                restarted = restart_entry(suite, c.key, c.properties)
                if restarted is not None:
                    self.restarts.append(restarted)
        counted = RunSummary.tally(self._statuses, flaky=self._flaky)
        ran = counted.total - counted.skipped
        self.totals = Totals(
            **counted.counts(),
            pass_rate=counted.passed / ran if ran else 1.0,
            flaky_share=counted.flaky / ran if ran else 0.0,
            serial_seconds=sum(s.duration for s in run.suites),
            wall_seconds=run.wall_seconds,
        )

    def _add(self, suite: str, c: TestCaseResult) -> None:
        self._statuses[c.status] += 1
        if c.status is not Status.PASSED and c.status is not Status.SKIPPED:
            self.failing_keys.append(c.key)
            if len(self.failures) < MAX_FAILURES:
                self.failures.append(
                    FailureEntry(
                        suite=suite,
                        test=c.key,
                        status=c.status.value,
                        message=c.message,
                        details=c.details[:_DETAILS_MAX] if c.details else None,
                        attempts=max(len(c.attempts), 1),
                    )
                )
        if c.flaky:
            self._flaky += 1
            self.flaky[c.key] = FlakyEntry(suite=suite, test=c.key, attempts=len(c.attempts))


def _performance_checks(
    store: HistoryStore, run: ConsolidatedRun, settings: PerformanceRegressionGate
) -> PerformanceReport:
    """Each passing test's metrics against its earlier passing runs on the same engine."""
    cases = current_cases(run.suite_of, (r.cases for r in run.results))
    history = store.metric_series(
        {test for _, test, _, _ in cases},
        limit=history_limit(settings),
        exclude=run.meta.run_key,
    )
    meta = run.meta
    label = f"{meta.created_at:%m-%d %H:%M} {(meta.commit or '')[:8]}".strip() + " (this run)"
    return check_run(
        cases,
        history,
        settings,
        run_key=meta.run_key,
        run_label=label,
        margins=margins_of(settings),
    )


def _new_failures(
    store: HistoryStore, run: ConsolidatedRun, failing_keys: list[str]
) -> NewFailures | None:
    """Failures that the target branch's latest run did not have; None without a target."""
    target = run.meta.target_branch
    if not target:
        return None
    tests, baseline = store.new_failures(failing_keys, target, exclude=run.meta.run_key)
    return NewFailures(
        target_branch=target, baseline_run=baseline.run_key if baseline else None, tests=tests
    )


def _add_flaky_history(flaky: dict[str, FlakyEntry], stats: list[TestStats]) -> None:
    """History of the tests flaky now, and the tests flaky only in history."""
    for st in stats:
        entry = flaky.get(st.key) or FlakyEntry(suite=st.suite, test=st.key, attempts=0)
        if st.flakiness > 0 or st.key in flaky:
            entry.history_runs = st.runs
            entry.history_pass_rate = st.pass_rate
            entry.history_flips = st.flips
            entry.flakiness = st.flakiness
            flaky[st.key] = entry


def planned_from(path: Path | None) -> list[str]:
    """Suite names of a plan file, or [] when none is given; see ctt.ci.plan."""
    if path is None:
        return []
    from ctt.ci.plan import load_plan

    return list(load_plan(path).suites)

"""Merge JUnit files and results JSON of one run into a consolidated run, metrics and reports.

Inputs come from many CI jobs (``test-results/junit-<suite>.xml`` and
``results-<suite>.json``) or from one ``ctt run --plan``. Bad input never
stops aggregation: an unreadable or truncated JUnit file, a results JSON
that does not parse, or a planned suite with no result at all is listed as a
problem and turned into an *error* test case, so it can never pass silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from ctt.ci.execute import SUITE_CASE, SuiteRunResult, junit_path
from ctt.ci.history import HistoryStore
from ctt.config.durations import parse_percent
from ctt.report.junit import (
    TestCaseResult,
    TestSuiteResult,
    read_junit,
)
from ctt.report.metrics import (
    AccuracyValue,
    FailureEntry,
    FlakyEntry,
    NewFailures,
    PerformanceEntry,
    TestMetrics,
    Totals,
    TrendPoint,
)
from ctt.report.model import Status
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


def _error_suite(name: str, message: str) -> TestSuiteResult:
    """A suite with one error case: what a planned suite without a usable result counts as."""
    return TestSuiteResult(
        name=name,
        cases=[
            TestCaseResult(name=SUITE_CASE, classname=name, status=Status.ERROR, message=message)
        ],
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
    Over 80 lines on purpose: results files, JUnit files and the planned suites are
    matched against each other in one place, so no suite is lost between pieces.
    """
    junit_files, result_files, problems = find_inputs(inputs)
    meta = meta or RunMeta.from_env()

    run_results: dict[str, SuiteRunResult] = {}
    junit_owner: dict[str, str] = {}
    for rf in result_files:
        try:
            res = SuiteRunResult.model_validate_json(rf.read_bytes())
        except (OSError, ValidationError, ValueError) as exc:
            problems.append(f"{rf}: results JSON unreadable ({type(exc).__name__}); ignored")
            continue
        run_results[res.name] = res
        junit_owner[Path(res.junit or junit_path(Path(), res.name)).name] = res.name

    reads = [read_junit(f) for f in junit_files]
    per_suite: dict[str, list[TestSuiteResult]] = {}
    files_of: dict[str, list[str]] = {}
    for path, read in zip(junit_files, reads, strict=True):
        owner = junit_owner.get(path.name) or _suite_name_from_file(path)
        problems.extend(str(p) for p in read.problems)
        suites = list(read.suites)
        if not read.complete:
            reason = next(p.message for p in read.problems if p.fatal)
            suites.append(
                TestSuiteResult(
                    name=owner,
                    cases=[
                        TestCaseResult(
                            name=f"{SUITE_CASE} {path.name}",
                            classname=owner,
                            status=Status.ERROR,
                            message=f"JUnit file incomplete: {reason}",
                        )
                    ],
                )
            )
        per_suite.setdefault(owner, []).extend(suites)
        files_of.setdefault(owner, []).append(str(path))

    names = list(dict.fromkeys([*(planned or []), *run_results, *per_suite]))
    summaries: list[SuiteSummary] = []
    results: list[TestSuiteResult] = []
    suite_of: list[str] = []
    for name in names:
        junit_suites = per_suite.get(name, [])
        found = run_results.get(name)
        if not junit_suites and found is None:
            problems.append(f"suite {name!r} was planned but left no result; counted as an error")
            junit_suites = [_error_suite(name, "planned but no result (no JUnit, no results JSON)")]
        elif not junit_suites and found is not None:
            problems.append(f"suite {name!r}: results JSON but no JUnit file; counted as an error")
            junit_suites = [_error_suite(name, "JUnit file missing")]
        cases = [c for s in junit_suites for c in s.cases]
        counts = {
            "tests": len(cases),
            "passed": sum(c.status is Status.PASSED for c in cases),
            "failed": sum(c.status is Status.FAILED for c in cases),
            "errors": sum(c.status is Status.ERROR for c in cases),
            "skipped": sum(c.status is Status.SKIPPED for c in cases),
            "flaky": sum(c.flaky for c in cases),
        }
        metrics = dict(found.metrics) if found else {}
        for s in junit_suites:
            for key, value in s.properties.items():
                if key.startswith("ctt.metric."):
                    try:
                        metrics.setdefault(key[len("ctt.metric.") :], float(value))
                    except ValueError:
                        problems.append(f"suite {name!r}: metric {key}={value!r} is not a number")
        status = _status(cases)
        if found is not None and found.status == "skipped":
            status = "skipped"
        if name not in per_suite and found is None:
            status = "missing"
        summaries.append(
            SuiteSummary(
                name=name,
                kind=found.kind if found else "junit",
                status=status,
                reason=found.reason if found else None,
                duration=found.duration if found else sum(s.time or 0.0 for s in junit_suites),
                expected_seconds=found.expected_seconds if found else None,
                attempts=len(found.attempts) if found and found.attempts else 1,
                metrics=metrics,
                junit_files=files_of.get(name, []),
                **counts,
            )
        )
        for s in junit_suites:
            results.append(s)
            suite_of.append(name)

    wall: float | None = None
    spans = [(r.started, r.duration) for r in run_results.values() if r.started is not None]
    if spans:
        start = min(s for s, _ in spans)
        end = max(s.timestamp() + d for s, d in spans)
        wall = max(end - start.timestamp(), 0.0)
    return ConsolidatedRun(
        meta=meta,
        suites=summaries,
        results=results,
        suite_of=suite_of,
        problems=problems,
        wall_seconds=wall,
    )


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
) -> TestMetrics:
    """Totals, failures, flakiness, accuracy, regressions and trends (history when given).

    Over 80 lines: one pass over the cases feeds every section, so a large run is read once.
    """
    totals = Totals(
        serial_seconds=sum(s.duration for s in run.suites), wall_seconds=run.wall_seconds
    )
    failures: list[FailureEntry] = []
    flaky_now: dict[str, FlakyEntry] = {}
    failing_keys: list[str] = []
    for suite, res in zip(run.suite_of, run.results, strict=True):
        for c in res.cases:
            totals.tests += 1
            if c.status is Status.PASSED:
                totals.passed += 1
            elif c.status is Status.SKIPPED:
                totals.skipped += 1
            else:
                if c.status is Status.FAILED:
                    totals.failed += 1
                else:
                    totals.errors += 1
                failing_keys.append(c.key)
                if len(failures) < MAX_FAILURES:
                    failures.append(
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
                totals.flaky += 1
                flaky_now[c.key] = FlakyEntry(suite=suite, test=c.key, attempts=len(c.attempts))
    ran = totals.tests - totals.skipped
    totals.pass_rate = totals.passed / ran if ran else 1.0
    totals.flaky_share = totals.flaky / ran if ran else 0.0

    new = NewFailures(target_branch=run.meta.target_branch, tests=sorted(set(failing_keys)))
    trend: list[TrendPoint] = []
    performance: list[PerformanceEntry] = []
    if store is not None:
        target = run.meta.target_branch
        if target:
            tests, baseline = store.new_failures(failing_keys, target, exclude=run.meta.run_key)
            new = NewFailures(
                target_branch=target,
                baseline_run=baseline.run_key if baseline else None,
                tests=tests,
            )
        for p in store.trend(trend_runs):
            trend.append(
                TrendPoint(
                    run_key=p.run_key,
                    created_at=p.created_at,
                    branch=p.branch,
                    commit=p.commit,
                    tests=p.tests,
                    pass_rate=p.pass_rate,
                    flaky_share=p.flaky_share,
                    serial_seconds=p.serial_seconds,
                    wall_seconds=p.wall_seconds,
                )
            )
        durations = {s.name: s.duration for s in run.suites if s.status == "passed"}
        for r in store.regressions(durations, limit=baseline_runs, exclude=run.meta.run_key):
            performance.append(
                PerformanceEntry(
                    suite=r.suite,
                    duration=r.duration,
                    baseline_median=r.baseline_median,
                    baseline_runs=r.baseline_runs,
                    change=r.change,
                )
            )
        for st in store.test_stats(trend_runs)[:200]:
            entry = flaky_now.get(st.key) or FlakyEntry(suite=st.suite, test=st.key, attempts=0)
            if st.flakiness > 0 or st.key in flaky_now:
                entry.history_runs = st.runs
                entry.history_pass_rate = st.pass_rate
                entry.history_flips = st.flips
                entry.flakiness = st.flakiness
                flaky_now[st.key] = entry
    planned = planned or []
    missing = [s.name for s in run.suites if s.status == "missing"]
    accuracy = _accuracy(run)
    flaky_list = sorted(
        flaky_now.values(), key=lambda f: (-(f.flakiness or 0.0), -f.attempts, f.test)
    )
    return TestMetrics(
        generated_at=datetime.now(UTC),
        run=run.meta,
        totals=totals,
        suites=run.suites,
        planned_suites=planned,
        missing_suites=missing,
        failures=failures,
        failures_truncated=len(failing_keys) > len(failures),
        new_failures=new,
        flaky_tests=flaky_list,
        streaming_data_accuracy=accuracy,
        performance=performance,
        trend=trend,
        problems=run.problems,
        history=history_label,
    )


def planned_from(path: Path | None) -> list[str]:
    """Suite names of a plan file, or [] when none is given; see ctt.ci.plan."""
    if path is None:
        return []
    from ctt.ci.plan import load_plan

    return list(load_plan(path).suites)

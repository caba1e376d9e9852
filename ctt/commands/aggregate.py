"""``ctt aggregate``: merge every suite's JUnit and results into one run, record it, report it.

Writes consolidated-test-report.html, test-metrics.json (what ``ctt gate`` reads)
and a merged JUnit, and stores the run in the history store that selection and
trends read.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from ctt.console import Output
from ctt.report.metrics import TestMetrics

__all__ = ["aggregate"]

DEFAULT_PLAN = Path("test-execution-plan.json")


def aggregate(
    out: Output,
    inputs: list[Path],
    *,
    plan: Path | None = None,
    history: str | None = None,
    record: bool = True,
    target_branch: str | None = None,
    branch: str | None = None,
    report: Path = Path("consolidated-test-report.html"),
    metrics_path: Path = Path("test-metrics.json"),
    merged_junit: Path | None = None,
    trend_runs: int = 30,
    baseline_runs: int = 10,
    gates: Path | None = None,
) -> TestMetrics:
    """Merge results, record them in history, write metrics, merged JUnit and the HTML report.

    Without ``plan``, a ``test-execution-plan.json`` in the working directory is the plan.
    ``gates`` (default: the shipped quality-gates.yaml when present) sets how each test's
    performance metrics are compared with their history (``performance_regression:``).
    """
    if plan is None and DEFAULT_PLAN.exists():
        plan = DEFAULT_PLAN
    # 100,000 test cases are 100,000+ long-lived objects; the cyclic GC would traverse them
    # again and again while they are built (half the run time, measured in bench/aggregate.py).
    # None of them form cycles that need collecting before the command ends.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _aggregate(
            out,
            inputs,
            plan=plan,
            history=history,
            record=record,
            target_branch=target_branch,
            branch=branch,
            report=report,
            metrics_path=metrics_path,
            merged_junit=merged_junit,
            trend_runs=trend_runs,
            baseline_runs=baseline_runs,
            gates=gates,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _aggregate(
    out: Output,
    inputs: list[Path],
    *,
    plan: Path | None,
    history: str | None,
    record: bool,
    target_branch: str | None,
    branch: str | None,
    report: Path,
    metrics_path: Path,
    merged_junit: Path | None,
    trend_runs: int,
    baseline_runs: int,
    gates: Path | None,
) -> TestMetrics:
    from sqlalchemy.engine import make_url

    from ctt.ci.aggregate import MERGED_JUNIT, collect, compute_metrics, planned_from
    from ctt.ci.history import HistoryStore, database_url
    from ctt.ci.perf_regression import margins_of, settings_from
    from ctt.config.gates import DEFAULT_GATES_FILE
    from ctt.report.html import write_html
    from ctt.report.junit import write_junit
    from ctt.report.metrics import write_metrics
    from ctt.report.results import RunMeta

    planned = planned_from(plan)
    gates_file = gates or DEFAULT_GATES_FILE
    perf = settings_from(gates_file, required=gates is not None)
    margins_of(perf, source=gates_file)  # a misspelt metric is the user's error, before any work
    meta = RunMeta.from_env(branch=branch, target_branch=target_branch)
    run = collect(inputs, planned=planned, meta=meta)
    url = database_url(history or os.environ.get("CTT_HISTORY_URL"))
    label = make_url(url).render_as_string(hide_password=True)
    with HistoryStore.open(url) as store:
        if record:
            store.record(run)
        metrics = compute_metrics(
            run,
            store,
            planned=planned,
            trend_runs=trend_runs,
            baseline_runs=baseline_runs,
            history_label=label,
            perf=perf,
        )
    merged = merged_junit or Path(MERGED_JUNIT)
    write_junit(run.results, merged)
    write_metrics(metrics, metrics_path)
    write_html(metrics, report)
    t = metrics.totals
    if out.json_mode:
        out.emit_json(metrics)
    else:
        for problem in metrics.problems[:20]:
            out.warn(problem)
        if len(metrics.problems) > 20:
            out.warn(f"... {len(metrics.problems) - 20} more problems (see {metrics_path})")
        out.info(
            f"{t.tests} tests in {len(metrics.suites)} suites: {t.passed} passed, "
            f"{t.failed} failed, {t.errors} errors, {t.skipped} skipped, {t.flaky} flaky; "
            f"pass rate {t.pass_rate * 100:.2f}%"
        )
        checks = metrics.performance_checks
        if checks is not None:
            from rich.markup import escape

            from ctt.report.performance import PerfVerdict

            for c in checks.of(PerfVerdict.REGRESSED) + checks.of(PerfVerdict.WARNING):
                out.warn(escape(f"performance {c.verdict.value}: {c.describe()}"))
        out.info(f"wrote {report}, {metrics_path}, {merged} (history: {label})")
    return metrics

"""What ``ctt run --plan/--suite``, ``ctt aggregate`` and ``ctt gate`` do; the CLI only parses arguments."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from rich.table import Table

from ctt.ci.execute import ExecOptions, RunSummary, SuiteStatus, execute
from ctt.ci.gate import GateReport, Verdict, evaluate
from ctt.ci.plan_model import load_plan
from ctt.config.gates import DEFAULT_GATES_FILE, GateMode, load_gates
from ctt.config.suites import DEFAULT_SUITES_FILE, load_suites
from ctt.console import Output
from ctt.errors import TestsFailed, UsageError
from ctt.report.metrics import TestMetrics, load_metrics

__all__ = ["aggregate", "gate", "run_plan", "run_suite"]

_VERDICT_STYLE = {Verdict.PASS: "green", Verdict.FAIL: "bold red", Verdict.NA: "dim"}


def _summary_table(summary: RunSummary) -> Table:
    table = Table(title=f"{len(summary.suites)} suites in {summary.wall_seconds:.1f}s")
    for col in ("suite", "status", "tests", "failed", "errors", "flaky", "attempts", "time"):
        table.add_column(col, justify="right" if col not in ("suite", "status") else "left")
    for s in summary.suites:
        style = {"passed": "green", "skipped": "yellow"}.get(s.status.value, "bold red")
        table.add_row(
            s.name,
            f"[{style}]{s.status.value}[/{style}]" + (f" ({s.reason})" if s.reason else ""),
            str(s.tests),
            str(s.failed),
            str(s.errors),
            str(s.flaky),
            str(len(s.attempts)),
            f"{s.duration:.1f}s",
        )
    return table


def _run(
    out: Output,
    names: list[str],
    *,
    catalogue: Path,
    opts: ExecOptions,
    deps: dict[str, list[str]] | None = None,
    expected: dict[str, float] | None = None,
    plan_timeout: float | None = None,
) -> RunSummary:
    from ctt.ci.progress import make_progress

    cat = load_suites(catalogue)
    with make_progress(out, len(names)) as progress:
        summary = execute(
            names,
            cat,
            opts,
            deps=deps,
            expected=expected,
            plan_timeout=plan_timeout,
            progress=progress,
        )
    if out.json_mode:
        out.emit_json(summary)
    else:
        out.table(_summary_table(summary))
        out.info(f"results: {opts.results_dir}/  logs: {opts.logs_dir}/")
    if not summary.ok:
        bad = [s.name for s in summary.suites if s.status is not SuiteStatus.PASSED]
        raise TestsFailed(
            f"{len(bad)} of {len(summary.suites)} suites did not pass: {', '.join(bad)}"
        )
    return summary


def run_plan(
    out: Output,
    plan_path: Path,
    *,
    catalogue: Path = DEFAULT_SUITES_FILE,
    parallel_limit: int | None = None,
    retries: int | None = None,
    timeout: float | None = None,
    fail_fast: bool = False,
    results_dir: Path = Path("test-results"),
    logs_dir: Path = Path("logs"),
) -> RunSummary:
    """Run every suite of a plan: dependency order, ``parallel_limit`` wide, pools respected."""
    plan = load_plan(plan_path)
    opts = ExecOptions(
        parallel_limit=parallel_limit or plan.parallel_limit,
        timeout=timeout,
        retries=plan.retry_failed_tests if retries is None else retries,
        fail_fast=fail_fast,
        results_dir=results_dir,
        logs_dir=logs_dir,
    )
    out.info(
        f"plan {plan_path}: {len(plan.suites)} suites, mode {plan.mode}, "
        f"parallel_limit {opts.parallel_limit}, retries {opts.retries}"
    )
    return _run(
        out,
        list(plan.suites),
        catalogue=catalogue,
        opts=opts,
        deps=plan.sequential_dependencies,
        expected=plan.estimated_duration.per_suite,
        plan_timeout=plan.timeout_per_test,
    )


def run_suite(
    out: Output,
    name: str,
    *,
    catalogue: Path = DEFAULT_SUITES_FILE,
    retries: int = 0,
    timeout: float | None = None,
    results_dir: Path = Path("test-results"),
    logs_dir: Path = Path("logs"),
) -> RunSummary:
    """Run one suite of the catalogue: what a CI job of the child pipeline does."""
    cat = load_suites(catalogue)
    if name not in cat.suites:
        from ctt.config import suggest

        near = suggest(name, cat.suites)
        raise UsageError(
            f"no suite {name!r} in {catalogue}",
            hint=f"did you mean {near!r}?" if near else f"suites: {', '.join(cat.suites)}",
        )
    opts = ExecOptions(
        parallel_limit=1,
        timeout=timeout,
        retries=retries,
        results_dir=results_dir,
        logs_dir=logs_dir,
    )
    return _run(out, [name], catalogue=catalogue, opts=opts)


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
) -> TestMetrics:
    """Merge results, record them in history, write metrics, merged JUnit and the HTML report."""
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
) -> TestMetrics:
    from sqlalchemy.engine import make_url

    from ctt.ci.aggregate import MERGED_JUNIT, collect, compute_metrics, planned_from
    from ctt.ci.history import HistoryStore, database_url
    from ctt.report.html import write_html
    from ctt.report.junit import write_junit
    from ctt.report.metrics import write_metrics
    from ctt.report.results import RunMeta

    planned = planned_from(plan)
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
        out.info(f"wrote {report}, {metrics_path}, {merged} (history: {label})")
    return metrics


def gate(
    out: Output,
    *,
    metrics_path: Path = Path("test-metrics.json"),
    gates_path: Path = DEFAULT_GATES_FILE,
    mode: GateMode | None = None,
) -> GateReport:
    """Evaluate the quality gates; raise TestsFailed (exit 1) when a blocking gate fails."""
    report = evaluate(load_metrics(metrics_path), load_gates(gates_path), mode)
    if out.json_mode:
        out.emit_json(report)
    else:
        table = Table(title=f"quality gates ({report.mode.value})")
        for col in ("condition", "actual", "threshold", "verdict", "detail"):
            table.add_column(col)
        for r in report.results:
            style = _VERDICT_STYLE[r.verdict]
            verdict = r.verdict.value.upper() + ("" if r.blocking else " (advisory)")
            table.add_row(
                r.condition, r.actual, r.threshold, f"[{style}]{verdict}[/{style}]", r.detail or ""
            )
        out.table(table)
    if report.blocked:
        blocking = [r.condition for r in report.results if r.verdict is Verdict.FAIL and r.blocking]
        raise TestsFailed(f"blocking quality gates failed: {', '.join(blocking)}")
    if report.failed:
        out.warn(
            f"quality gates failed ({', '.join(report.failed)}) but do not block "
            f"({report.mode.value} mode)"
        )
    return report

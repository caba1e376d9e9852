"""The ``--plan``/``--suite`` half of ``ctt run``: suites as processes through the CI executor.

Kept apart from :mod:`ctt.commands.run` (the spec half and the dispatch) so that
module stays the moved ``flinktest/commands.py`` it was.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from ctt.ci.execute import ExecOptions, ExecutionReport, execute
from ctt.ci.plan import load_plan
from ctt.config import suggest
from ctt.config.suites import DEFAULT_SUITES_FILE, load_suites
from ctt.console import Output
from ctt.errors import UsageError
from ctt.report.model import RunNotPassed, Status

__all__ = ["run_plan", "run_suite"]


def _summary_table(summary: ExecutionReport) -> Table:
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
) -> ExecutionReport:
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
        bad = [s.name for s in summary.suites if s.status is not Status.PASSED]
        raise RunNotPassed(
            f"{len(bad)} of {len(summary.suites)} suites did not pass: {', '.join(bad)}",
            summary.suites,
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
) -> ExecutionReport:
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
) -> ExecutionReport:
    """Run one suite of the catalogue: what a CI job of the child pipeline does."""
    cat = load_suites(catalogue)
    if name not in cat.suites:
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

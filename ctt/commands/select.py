"""``ctt select``: choose the suites a change needs and write test-execution-plan.json.

Optionally also the GitLab child pipeline that runs the plan (one job per suite),
merged into a user's template of hidden jobs, images and defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from ctt.ci.plan import TestExecutionPlan, child_pipeline
from ctt.ci.select import explain_lines, run_select
from ctt.ci.selection import SelectionMode
from ctt.commands.analyze import under
from ctt.config import load_yaml
from ctt.console import Output
from ctt.errors import UsageError

__all__ = ["parse_mode", "select"]


def parse_mode(mode: str) -> SelectionMode:
    """``--mode`` as a SelectionMode, or a usage error naming the choices."""
    try:
        return SelectionMode(mode.strip().lower())
    except ValueError:
        raise UsageError(f"unknown mode {mode!r}", hint="use smart, full or manual") from None


def _template(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    template = load_yaml(path)[0]
    if template is not None and not isinstance(template, dict):
        raise UsageError(f"{path} must be a YAML mapping")
    return template


def select(
    out: Output,
    *,
    repo: Path,
    mode: str,
    tests: str | None,
    analysis: Path,
    history: str | None,
    branch: str | None,
    parallel_limit: int | None,
    output: Path,
    child: Path | None,
    child_template: Path | None,
    explain: bool,
    config: Path,
    suites: Path,
    cache_dir: Path | None,
) -> TestExecutionPlan:
    sel_mode = parse_mode(mode)
    names = [t.strip() for t in (tests or "").split(",") if t.strip()]
    selection, plan = run_select(
        repo,
        sel_mode,
        selection_file=under(repo, config),
        suites_file=under(repo, suites),
        analysis_file=analysis,
        tests=names,
        history_path=history,
        branch=branch,
        parallel_limit=parallel_limit,
        cache_dir=under(repo, cache_dir) if cache_dir else None,
    )
    for text in plan.warnings:
        out.warn(escape(text))
    output.write_text(plan.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if child is not None:
        child.write_text(child_pipeline(plan, _template(child_template)), encoding="utf-8")
    if out.json_mode:
        out.emit_json(plan)
    if explain:
        for line in explain_lines(selection):
            out.info(escape(line))
    est = plan.estimated_duration
    out.info(
        f"{plan.mode}: {plan.stats.selected}/{plan.stats.total_suites} suites selected, "
        f"{plan.stats.skipped} skipped; ~{est.wall_clock_seconds / 60:.1f} min with "
        f"{plan.parallel_limit} in parallel ({est.total_seconds / 60:.1f} min serial) -> {output}"
    )
    return plan

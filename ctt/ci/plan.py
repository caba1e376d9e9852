"""The test execution plan: the contract between ``ctt select`` and ``ctt run --plan``.

``ctt select`` writes it as ``test-execution-plan.json``; the executor
(ctt/ci/execute.py) and GitLab (as a child pipeline, :func:`child_pipeline`)
read it. The keys the executor reads are those of :class:`ExecutionPlan` and
follow the seed's ``_optimize_execution_plan`` (``parallel_groups``,
``sequential_dependencies``, ``estimated_duration``); :class:`TestExecutionPlan`
adds what selection knows, to explain the plan to people and to the merge request.

Durations come from the history store (median of past runs) or a default.
``parallel_groups`` are the dependency levels cut into chunks of at most
``parallel_limit`` (longest-tail suites first); the wall-clock estimate
list-schedules the same DAG on ``parallel_limit`` workers, as the executor does,
and the critical path is the heaviest chain of ``requires``.
"""

from __future__ import annotations

import heapq
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ctt.ci.analysis import ChangeAnalysis
from ctt.ci.graph import Graph
from ctt.ci.selection import Reason, Selection, SkippedSuite
from ctt.ci.selection_history import History
from ctt.config.selection import SelectionConfig
from ctt.config.suites import SuiteCatalogue
from ctt.errors import ConfigError

__all__ = [
    "DEFAULT_PLAN_FILE",
    "EstimatedDuration",
    "ExecutionPlan",
    "PlanDuration",
    "PlanStats",
    "SuiteDetail",
    "TestExecutionPlan",
    "build_plan",
    "child_pipeline",
    "load_plan",
    "simulate_wall_clock",
]

DEFAULT_PLAN_FILE = Path("test-execution-plan.json")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- the document ----------------------------------------------------------------------------


class SuiteDetail(_Model):
    """Everything the plan knows about one selected suite (``suite_details``)."""

    name: str
    kind: str
    path: str | None = None
    command: str | None = None
    estimated_duration: float = Field(description="seconds")
    duration_source: Literal["history", "default", "timeout"]
    timeout: float = Field(description="seconds")
    retries: int = 0
    requires: list[str] = Field(default_factory=list, description="selected suites to run first")
    resources: dict[str, float] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)


class EstimatedDuration(BaseModel):
    model_config = ConfigDict(extra="ignore")

    total_seconds: float = Field(0.0, ge=0, description="sum over suites (serial time)")
    per_suite: dict[str, float] = Field(
        default_factory=dict, description="expected seconds per suite, from history or defaults"
    )


class ExecutionPlan(BaseModel):
    """Which suites to run, in which order, how wide.

    ``sequential_dependencies`` maps a suite to the suites that must finish
    first; a prerequisite that is not in ``suites`` was not selected and is
    treated as already satisfied.
    """

    model_config = ConfigDict(extra="ignore")

    mode: str = Field("full", description="smart, full or manual")
    suites: list[str]
    parallel_groups: list[list[str]] = Field(
        default_factory=list, description="suites that may run together, group after group"
    )
    sequential_dependencies: dict[str, list[str]] = Field(default_factory=dict)
    estimated_duration: EstimatedDuration = Field(default_factory=EstimatedDuration)
    critical_path: list[str] = Field(default_factory=list)
    parallel_limit: int = Field(4, ge=1)
    timeout_per_test: float | None = Field(
        None, gt=0, description="seconds per suite (execution_strategy.timeout_per_test)"
    )
    retry_failed_tests: int = Field(0, ge=0, description="execution_strategy.retry_failed_tests")

    @model_validator(mode="after")
    def _names_known(self) -> ExecutionPlan:
        known = set(self.suites)
        if len(known) != len(self.suites):
            raise ValueError("'suites' lists a suite twice")
        for group in self.parallel_groups:
            for name in group:
                if name not in known:
                    raise ValueError(f"parallel_groups names {name!r}, which is not in 'suites'")
        for name in self.sequential_dependencies:
            if name not in known:
                raise ValueError(
                    f"sequential_dependencies names {name!r}, which is not in 'suites'"
                )
        return self

    def expected_seconds(self, suite: str, default: float = 60.0) -> float:
        return self.estimated_duration.per_suite.get(suite, default)


class PlanDuration(EstimatedDuration):
    wall_clock_seconds: float = Field(
        0.0, ge=0, description="list-scheduled with parallel_limit workers and the dependencies"
    )
    critical_path_seconds: float = Field(0.0, ge=0, description="the longest dependency chain")


class PlanStats(_Model):
    total_suites: int
    selected: int
    skipped: int
    skipped_share: float = Field(description="skipped / total, 0..1")


class TestExecutionPlan(ExecutionPlan):
    """``test-execution-plan.json``: the executor's contract plus what selection knows.

    The keys ``ctt run --plan`` reads are those of :class:`ExecutionPlan`
    (above); the rest explain the plan to people and to the merge
    request report.
    """

    __test__ = False  # not a pytest class

    version: Literal[1] = 1
    generated_at: datetime = Field(default_factory=_now)
    base: str | None = None
    head: str | None = None
    estimated_duration: PlanDuration = Field(default_factory=PlanDuration)
    suite_details: list[SuiteDetail] = Field(default_factory=list)
    skipped: list[SkippedSuite] = Field(default_factory=list)
    unmapped_files: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    stats: PlanStats

    def detail(self, name: str) -> SuiteDetail:
        for s in self.suite_details:
            if s.name == name:
                return s
        raise KeyError(name)


def load_plan(path: Path | str = DEFAULT_PLAN_FILE) -> ExecutionPlan:
    """Read and validate a plan file; problems become ConfigError with the file name."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("plan file not found", file=name, hint="run `ctt select` first") from None
    except OSError as exc:
        raise ConfigError(f"cannot read plan: {exc.strerror}", file=name) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}", file=name, line=exc.lineno) from None
    try:
        return ExecutionPlan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "plan"
        raise ConfigError(f"{loc}: {first['msg']}", file=name) from None


# --- building it -----------------------------------------------------------------------------


def simulate_wall_clock(
    durations: dict[str, float], requires: dict[str, list[str]], workers: int
) -> float:
    """Makespan of list scheduling: ready suites start longest-tail first on free workers."""
    order = _order_graph(list(durations), requires)
    tail = order.tail_weights(lambda n: durations[n])
    waiting = {n: len(requires.get(n, [])) for n in durations}
    ready = [(-tail[n], n) for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < workers:
            _, name = heapq.heappop(ready)
            heapq.heappush(running, (now + durations[name], name))
        now, done = heapq.heappop(running)
        for nxt in order.successors(done):
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, (-tail[nxt], nxt))
    return now


def _order_graph(names: list[str], requires: dict[str, list[str]]) -> Graph:
    """Edges point from a prerequisite to the suite that waits for it."""
    graph = Graph()
    for name in names:
        graph.add_node(name)
    for name, reqs in requires.items():
        for req in reqs:
            graph.add_edge(req, name, method="dependency", rule=f"{name} requires {req}")
    return graph


def _detail(
    name: str,
    selection: Selection,
    catalogue: SuiteCatalogue,
    config: SelectionConfig,
    medians: dict[str, float],
    requires: list[str],
) -> SuiteDetail:
    """One selected suite: its expected duration (history, else default, else its timeout)."""
    strategy = config.test_selection.execution_strategy
    suite = catalogue.suites[name]
    timeout = suite.timeout or strategy.timeout_per_test
    source: Literal["history", "default", "timeout"]
    if name in medians:
        est, source = medians[name], "history"
    elif strategy.default_duration <= timeout:
        est, source = strategy.default_duration, "default"
    else:
        est, source = timeout, "timeout"
    return SuiteDetail(
        name=name,
        kind=suite.kind.value,
        path=suite.path,
        command=suite.command,
        estimated_duration=est,
        duration_source=source,
        timeout=timeout,
        retries=strategy.retry_failed_tests,
        requires=requires,
        resources=dict(suite.resources),
        tags=list(suite.tags),
        reasons=selection.selected[name],
    )


def build_plan(
    selection: Selection,
    catalogue: SuiteCatalogue,
    config: SelectionConfig,
    *,
    history: History | None = None,
    analysis: ChangeAnalysis | None = None,
    parallel_limit: int | None = None,
) -> TestExecutionPlan:
    strategy = config.test_selection.execution_strategy
    limit = parallel_limit or strategy.parallel_limit
    medians = history.median_durations() if history is not None else {}
    names = list(selection.selected)
    chosen = set(names)
    requires = {
        n: [r for r in config.test_selection.dependencies[n].requires if r in chosen]
        for n in names
        if n in config.test_selection.dependencies
    }
    requires = {n: r for n, r in requires.items() if r}

    details = [
        _detail(name, selection, catalogue, config, medians, requires.get(name, []))
        for name in names
    ]
    durations = {d.name: d.estimated_duration for d in details}

    order = _order_graph(names, requires)
    tail = order.tail_weights(lambda n: durations[n])
    groups: list[list[str]] = []
    for level in order.topological_generations():
        level.sort(key=lambda n: (-tail[n], n))
        groups.extend(level[i : i + limit] for i in range(0, len(level), limit))
    path, critical = order.longest_path(lambda n: durations[n])
    total = len(catalogue.suites)
    return TestExecutionPlan(
        mode=selection.mode.value,
        base=analysis.base if analysis else None,
        head=analysis.head if analysis else None,
        suites=names,
        parallel_groups=groups,
        sequential_dependencies=requires,
        estimated_duration=PlanDuration(
            total_seconds=sum(durations.values()),
            per_suite=durations,
            wall_clock_seconds=simulate_wall_clock(durations, requires, limit) if names else 0.0,
            critical_path_seconds=critical,
        ),
        critical_path=path,
        parallel_limit=limit,
        timeout_per_test=strategy.timeout_per_test,
        retry_failed_tests=strategy.retry_failed_tests,
        suite_details=details,
        skipped=selection.skipped,
        unmapped_files=selection.unmapped,
        warnings=selection.warnings,
        stats=PlanStats(
            total_suites=total,
            selected=len(names),
            skipped=total - len(names),
            skipped_share=(total - len(names)) / total if total else 0.0,
        ),
    )


# --- as a GitLab child pipeline ----------------------------------------------------------------


def _minutes(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds / 60))}m"


def child_pipeline(plan: TestExecutionPlan, template: dict[str, Any] | None = None) -> str:
    """A GitLab child pipeline (``trigger: include: artifact:``), one job per suite.

    ``needs`` carries the plan's sequential dependencies, so GitLab starts each
    job as soon as its prerequisites pass. GitLab itself has no per-pipeline
    concurrency limit; ``parallel_limit`` applies to ``ctt run --plan``.
    Suite jobs extend the template's hidden jobs ``.ctt-suite`` and
    ``.ctt-suite-<kind>`` when present (runner tags, caches, images per kind).
    """
    doc: dict[str, Any] = dict(template or {})
    doc.setdefault("stages", ["test"])
    stage = doc["stages"][0] if doc["stages"] else "test"
    # A child pipeline cannot read the parent's plan artifact: jobs after the suites
    # (aggregation) learn what was planned from this variable.
    doc["variables"] = {
        **(doc.get("variables") or {}),
        "CTT_PLANNED_SUITES": json.dumps(list(plan.suites)),
    }
    if not plan.suites:
        doc["no-tests-selected"] = {
            "stage": stage,
            "script": ["echo 'ctt select chose no suite for this change'"],
        }
    for detail in plan.suite_details:
        job: dict[str, Any] = {
            "stage": stage,
            "variables": {"TEST_SUITE": detail.name},
            "script": [f"ctt run --suite {detail.name} --retries {detail.retries}"],
            "needs": [f"test:{r}" for r in detail.requires],
            "timeout": _minutes(detail.timeout * (1 + detail.retries) + 300),
            "retry": {"max": 2, "when": ["runner_system_failure", "stuck_or_timeout_failure"]},
            "artifacts": {
                "when": "always",
                "reports": {"junit": f"test-results/junit-{detail.name}.xml"},
                "paths": ["test-results/", "logs/"],
                "expire_in": "7 days",
            },
        }
        bases = [b for b in (".ctt-suite", f".ctt-suite-{detail.kind}") if b in doc]
        if bases:
            job = {"extends": bases, **job}
        doc[f"test:{detail.name}"] = job
    header = (
        f"# Generated by 'ctt select' ({plan.mode} mode): {len(plan.suites)} suite(s).\n"
        "# Do not edit: regenerate from test-execution-plan.json.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)

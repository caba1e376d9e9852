"""Test selection: which suites a change needs, and why every other suite is safe to skip.

The graph is built once from every selector method (selector_methods.py);
selection is then reachability from the changed files plus the suites some
methods select directly. Reaching a suite means some chain of rules says the
change can break it, so recall is bounded only by the rules and lineage, never
by a heuristic cut-off.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ctt.ci.analysis import ChangeAnalysis, load_analysis
from ctt.ci.analyze import GitRepo, analyze, resolve_range
from ctt.ci.graph import Graph, NodeKind, node_id, split_node
from ctt.ci.plan import TestExecutionPlan, build_plan
from ctt.ci.selection import Reason, Selection, SelectionMode, SkippedSuite
from ctt.ci.selection_history import History, open_history
from ctt.ci.selection_inputs import LineageCache, RepoFiles, repo_files
from ctt.ci.selector_methods import METHODS, MethodName, SelectionContext, SelectorMethod
from ctt.config import suggest
from ctt.config.selection import Unmapped, load_selection
from ctt.config.suites import load_suites
from ctt.errors import UsageError

_DEAD_END_CHECK = 2000
"""Above this many changed files, skip the per-file "reaches no suite" check."""

__all__ = [
    "Selection",
    "Selector",
    "explain_lines",
    "load_selector",
    "repo_files",
    "run_analyze",
    "run_select",
]


class Selector:
    """Builds the selection graph for a repository and answers selections on it."""

    def __init__(
        self,
        ctx: SelectionContext,
        methods: Mapping[MethodName, type[SelectorMethod]] = METHODS,
    ) -> None:
        ctx.config.check_suite_names(ctx.catalogue.suites)
        self.ctx = ctx
        self.methods = [cls(ctx) for cls in methods.values()]
        self.graph = Graph()
        for name in ctx.catalogue.suites:
            self.graph.add_node(node_id(NodeKind.SUITE, name))
        for method in self.methods:
            self.graph.add_edges(method.edges())
        self._check_cycles()

    def _check_cycles(self) -> None:
        suites = list(self.graph.nodes(NodeKind.SUITE))
        cycle = self.graph.subgraph(suites, method=MethodName.DEPENDENCY).find_cycle()
        if cycle:
            names = [split_node(n)[1] for n in cycle]
            raise self.ctx.config.error(
                "dependencies form a cycle: "
                + " -> ".join(f"{n} requires" for n in names[:-1])
                + f" {names[-1]}",
                "dependencies",
                names[0],
                hint="remove one of these 'requires'",
            )

    def entries(self, path: str) -> list[tuple[str, str, str]]:
        """(node, method, rule) where a change to ``path`` enters the graph."""
        return [(n, m.name.value, r) for m in self.methods for n, r in m.entries(path)]

    def components(self, path: str) -> list[str]:
        """The graph nodes a path maps to (``components`` in change-analysis.json)."""
        return sorted({n for n, _m, _r in self.entries(path)})

    # --- selection -----------------------------------------------------------------------------

    def select(
        self,
        mode: SelectionMode,
        changes: ChangeAnalysis | None = None,
        tests: Iterable[str] = (),
    ) -> Selection:
        all_suites = list(self.ctx.catalogue.suites)
        if mode is SelectionMode.FULL:
            reason = Reason(method="full", rule="full mode runs every suite")
            return Selection(mode, {n: [reason] for n in all_suites}, [], [], self.ctx.warnings)
        if mode is SelectionMode.MANUAL:
            return self._manual(list(tests))
        if changes is None:
            raise UsageError("smart mode needs a change analysis", hint="run 'ctt analyze' first")
        return self._smart(changes)

    def _manual(self, tests: list[str]) -> Selection:
        if not tests:
            raise UsageError(
                "manual mode needs --tests", hint="e.g. --tests topic_tests,rbac_tests"
            )
        known = self.ctx.catalogue.suites
        for name in tests:
            if name not in known:
                near = suggest(name, known)
                raise UsageError(
                    f"unknown suite {name!r}",
                    hint=f"did you mean {near!r}?"
                    if near
                    else "see continuous-testing/config/suites.yaml",
                )
        seeds = [(n, Reason(method="manual", rule="named with --tests")) for n in tests]
        return self._finish(SelectionMode.MANUAL, seeds, [], [])

    def _smart(self, changes: ChangeAnalysis) -> Selection:
        file_nodes: list[str] = []
        unmapped: list[str] = []
        for path in sorted(changes.paths()):
            entries = self.entries(path)
            if not entries:
                unmapped.append(path)
                continue
            fnode = node_id(NodeKind.FILE, path)
            self.graph.add_node(fnode)
            file_nodes.append(fnode)
            for node, method, rule in entries:
                self.graph.add_edge(fnode, node, method=method, rule=rule)
            if len(changes.files) <= _DEAD_END_CHECK and not self.graph.reaches(
                fnode, NodeKind.SUITE
            ):
                unmapped.append(path)  # e.g. a SQL template that no spec runs
        seeds = [seed for m in self.methods for seed in m.seeds(changes)]
        seeded_by = {r.change for _n, r in seeds if r.change}
        unmapped = [p for p in unmapped if p not in seeded_by]  # e.g. a global path
        notes: list[str] = []
        policy = self.ctx.config.test_selection.change_detection.unmapped
        if unmapped and policy is Unmapped.ALL:
            reason = Reason(
                method="unmapped",
                rule=f"no rule covers {unmapped[0]} and unmapped: all runs everything",
                change=unmapped[0],
            )
            seeds += [(n, reason) for n in self.ctx.catalogue.suites]
        elif unmapped and policy is Unmapped.WARN:
            shown = ", ".join(unmapped[:5]) + (
                f" and {len(unmapped) - 5} more" if len(unmapped) > 5 else ""
            )
            notes.append(f"{len(unmapped)} changed file(s) map to no suite: {shown}")
        return self._finish(SelectionMode.SMART, seeds, file_nodes, unmapped, notes)

    def _finish(
        self,
        mode: SelectionMode,
        seeds: list[tuple[str, Reason]],
        file_nodes: list[str],
        unmapped: list[str],
        notes: list[str] | None = None,
    ) -> Selection:
        seed_reasons: dict[str, list[Reason]] = {}
        for name, reason in seeds:
            seed_reasons.setdefault(name, []).append(reason)
        seed_nodes = [node_id(NodeKind.SUITE, n) for n in seed_reasons]
        parent = self.graph.reach([*seed_nodes, *file_nodes])
        selected: dict[str, list[Reason]] = {}
        for node in parent:
            kind, name = split_node(node)
            if kind is not NodeKind.SUITE:
                continue
            reasons = list(seed_reasons.get(name, []))
            if parent[node] is not None or not reasons:
                reasons.append(self._reason(parent, node, seed_reasons))
            selected[name] = reasons
        skipped = [
            self._skipped(name, mode) for name in self.ctx.catalogue.suites if name not in selected
        ]
        ordered = {n: selected[n] for n in self.ctx.catalogue.suites if n in selected}
        return Selection(mode, ordered, skipped, unmapped, [*self.ctx.warnings, *(notes or [])])

    def _reason(
        self, parent: dict[str, str | None], node: str, seeds: dict[str, list[Reason]]
    ) -> Reason:
        chain = Graph.chain(parent, node)
        edges = [self.graph.edge(a, b) for a, b in itertools.pairwise(chain)]
        methods = [m for m, _r in edges]
        steps = [r for _m, r in edges]
        start_kind, start = split_node(chain[0])
        change = start if start_kind is NodeKind.FILE else None
        if start_kind is NodeKind.SUITE and start in seeds:
            steps.insert(0, f"{start!r}: {seeds[start][0].rule}")
        method = next(
            (m for m in reversed(methods) if m != MethodName.SUITE_PATH),
            methods[-1] if methods else "seed",
        )
        return Reason(
            method=method,
            rule=steps[-1] if steps else "",
            change=change,
            chain=chain,
            steps=steps,
        )

    def _skipped(self, name: str, mode: SelectionMode) -> SkippedSuite:
        node = node_id(NodeKind.SUITE, name)
        triggers: list[str] = []
        for pred in self.graph.predecessors(node):
            kind, pname = split_node(pred)
            if kind is NodeKind.FILE:
                continue
            _method, rule = self.graph.edge(pred, node)
            triggers.append(rule if kind is not NodeKind.SUITE else f"required by {pname!r}")
        suite = self.ctx.catalogue.suites[name]
        if suite.path:
            triggers.append(f"changes under {suite.path}")
        triggers = sorted(set(triggers))
        if mode is SelectionMode.MANUAL:
            why = "not named with --tests and not required by a named suite"
        elif not triggers:
            why = "no rule, path or lineage leads to it, and it is not always-run"
        else:
            why = "no changed file reaches it through any rule or lineage"
            if self.ctx.history is not None:
                why += ", and it did not fail in the last run"
        return SkippedSuite(name=name, why=why, triggers=triggers[:8])


def load_selector(
    root: Path,
    selection_file: Path,
    suites_file: Path,
    *,
    history: History | None = None,
    files: RepoFiles | None = None,
    cache_dir: Path | None = None,
) -> Selector:
    """Read both config files and the repository, and build the selection graph.

    With ``cache_dir``, lineage parsed from unchanged files is reused across
    runs (keyed by git blob id and SQL text), which is what keeps selection on
    very large repositories within its time budget.
    """
    config = load_selection(selection_file, cache_dir=cache_dir)
    catalogue = load_suites(suites_file, cache_dir=cache_dir)
    cache = LineageCache.load(cache_dir / LineageCache.FILE) if cache_dir else None
    ctx = SelectionContext(config, catalogue, files or repo_files(root), history, cache=cache)
    selector = Selector(ctx)
    if cache is not None:
        cache.save()
    return selector


def explain_lines(selection: Selection) -> list[str]:
    """Plain lines for ``--explain``: each selected suite's reasons, each skipped suite's."""
    lines = [f"selected ({len(selection.selected)}):"]
    for name, reasons in selection.selected.items():
        lines.append(f"  + {name}")
        for reason in reasons:
            origin = f"{reason.change}: " if reason.change else ""
            lines.append(f"      {reason.method}: {origin}{reason.rule}")
            for step in reason.steps[:-1]:
                lines.append(f"        via {step}")
    lines.append(f"skipped ({len(selection.skipped)}):")
    for skip in selection.skipped:
        lines.append(f"  - {skip.name}: {skip.why}")
        if skip.triggers:
            lines.append(f"      would run on: {'; '.join(skip.triggers)}")
    if selection.unmapped:
        lines.append(f"changed files that map to no suite ({len(selection.unmapped)}):")
        lines.extend(f"  ? {p}" for p in selection.unmapped)
    return lines


def run_select(
    root: Path,
    mode: SelectionMode,
    *,
    selection_file: Path,
    suites_file: Path,
    analysis_file: Path | None = None,
    tests: list[str] | None = None,
    history_path: Path | str | None = None,
    branch: str | None = None,
    parallel_limit: int | None = None,
    cache_dir: Path | None = None,
) -> tuple[Selection, TestExecutionPlan]:
    """``ctt select``: read the analysis (smart mode), select, and plan."""
    # The graph of a large repository is ~100,000 long-lived objects (edges, nodes, cached
    # lineage); the cyclic GC would traverse them again and again while they are built
    # (~0.2 s of a 10,000-suite selection). None of them form cycles that need collecting.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_select(
            root,
            mode,
            selection_file=selection_file,
            suites_file=suites_file,
            analysis_file=analysis_file,
            tests=tests,
            history_path=history_path,
            branch=branch,
            parallel_limit=parallel_limit,
            cache_dir=cache_dir,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _run_select(
    root: Path,
    mode: SelectionMode,
    *,
    selection_file: Path,
    suites_file: Path,
    analysis_file: Path | None,
    tests: list[str] | None,
    history_path: Path | str | None,
    branch: str | None,
    parallel_limit: int | None,
    cache_dir: Path | None,
) -> tuple[Selection, TestExecutionPlan]:
    history: History | None = None
    if history_path is not None:
        history = open_history(history_path, load_suites(suites_file).suites, branch)
    analysis = (
        load_analysis(analysis_file) if mode is SelectionMode.SMART and analysis_file else None
    )
    if mode is not SelectionMode.MANUAL and tests:
        raise UsageError("--tests is for manual mode", hint="add --mode manual")
    selector = load_selector(
        root, selection_file, suites_file, history=history, cache_dir=cache_dir
    )
    selection = selector.select(mode, analysis, tests or ())
    plan = build_plan(
        selection,
        selector.ctx.catalogue,
        selector.ctx.config,
        history=history,
        analysis=analysis,
        parallel_limit=parallel_limit,
    )
    return selection, plan


def run_analyze(
    repo_path: Path,
    *,
    base: str | None = None,
    head: str | None = None,
    use_merge_base: bool = True,
    selection_file: Path | None = None,
    suites_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
) -> tuple[ChangeAnalysis, list[str]]:
    """``ctt analyze``: the analysis and warnings; components come from the selection graph
    when both config files exist (otherwise the analysis lists files only)."""
    repo = GitRepo(repo_path)
    rng = resolve_range(repo, base, head, env=env, use_merge_base=use_merge_base)
    warnings: list[str] = []
    mapper: Callable[[str], Iterable[str]] | None = None
    if selection_file and suites_file and selection_file.exists() and suites_file.exists():
        selector = load_selector(repo.root, selection_file, suites_file, cache_dir=cache_dir)
        mapper = selector.components
        warnings.extend(selector.ctx.warnings)
    else:
        warnings.append("no selection config found: files are not mapped to components")
    return analyze(repo, rng, components=mapper), warnings

"""The kinds of selection, one small class each, registered by name.

Every kind answers up to three questions, all optional:

* ``edges()``: what it adds to the selection graph once (path rules -> suites,
  lineage, module uses, ``requires``);
* ``entries(path)``: where a changed file enters the graph (a path rule it
  matches, a spec, a SQL template, a module directory, a suite's own path);
* ``seeds(changes)``: suites it selects directly (always-run suites, previous
  failures, everything on a global path change).

Selection (ctt/ci/select.py) is then reachability from the changed files plus
the seeds. Adding a kind is a class and a line in :data:`METHODS`.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any, ClassVar

from ctt.ci.analysis import ChangeAnalysis
from ctt.ci.graph import Edge, NodeKind, node_id
from ctt.ci.python_imports import ImportFrom, ModuleIndex, command_entries, parse_imports
from ctt.ci.selection import Reason
from ctt.ci.selection_history import History
from ctt.ci.selection_inputs import (
    Flow,
    LineageCache,
    PatternIndex,
    RepoFiles,
    ancestors,
    digest,
    parse_sql,
    read_spec,
)
from ctt.config.selection import SelectionConfig
from ctt.config.spec_scan import ScannedTest
from ctt.config.suites import SuiteCatalogue, SuiteKind

__all__ = [
    "METHODS",
    "MethodName",
    "SelectionContext",
    "SelectorMethod",
]


class MethodName(StrEnum):
    PATH = "path"  # change_detection.paths rules
    SUITE_PATH = "suite_path"  # files under a suite's own path
    LINEAGE = "lineage"  # Flink SQL templates, specs, tables and topics
    MODULE = "module"  # Terraform modules and the modules they use
    PYTHON = "python"  # Python imports: a module -> the tests that import it -> their suites
    DEPENDENCY = "dependency"  # dependencies.<suite>.requires
    ALWAYS_RUN = "always_run"
    PREVIOUS_FAILURE = "previous_failure"
    GLOBAL_PATH = "global_path"


# --- context --------------------------------------------------------------------------------------


@dataclass
class SelectionContext:
    """Everything a selector method may read."""

    config: SelectionConfig
    catalogue: SuiteCatalogue
    repo: RepoFiles
    history: History | None = None
    warnings: list[str] = field(default_factory=list)
    cache: LineageCache | None = None

    def lineage(self, text: str, key: str | None = None) -> Flow:
        return self.cache.lineage(text, key) if self.cache else Flow.of(parse_sql(text))

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def where(self, *loc: str | int) -> str:
        line = self.config.line_of(*loc)
        file = self.config.file or "test-selection.yaml"
        return f"{file}:{line}" if line else file


Seed = tuple[str, Reason]
"""(suite name, why)"""


class SelectorMethod:
    """Base of every selection kind; each method overrides what it contributes."""

    name: ClassVar[MethodName]

    def __init__(self, ctx: SelectionContext) -> None:
        self.ctx = ctx
        self._method: str = self.name.value

    def edges(self) -> Iterable[Edge]:
        return ()

    def entries(self, path: str) -> Iterable[tuple[str, str]]:
        """(node, rule) pairs where a change to ``path`` enters the graph."""
        return ()

    def seeds(self, changes: ChangeAnalysis) -> Iterable[Seed]:
        return ()

    def edge(self, source: str, target: str, rule: str) -> Edge:
        return (source, target, self._method, rule)


def _suite(name: str) -> str:
    return node_id(NodeKind.SUITE, name)


class PathRuleMethod(SelectorMethod):
    """``change_detection.paths``: a file matching ``path`` selects ``tests``."""

    name = MethodName.PATH

    def __init__(self, ctx: SelectionContext) -> None:
        super().__init__(ctx)
        self.index: PatternIndex[int] = PatternIndex()
        rules = ctx.config.test_selection.change_detection.paths
        self.labels = [
            f"path rule '{r.path}' ({ctx.where('change_detection', 'paths', i)})"
            for i, r in enumerate(rules)
        ]
        for i, rule in enumerate(rules):
            self.index.add(rule.path, i)
        for k, (_pattern, _prefix, i) in enumerate(self.index.entries):
            if not self.index.matches_any(ctx.repo, k):
                ctx.warn(f"{self.labels[i]} matches no file in the repository")

    def edges(self) -> Iterable[Edge]:
        for i, rule in enumerate(self.ctx.config.test_selection.change_detection.paths):
            for test in rule.tests:
                yield self.edge(node_id(NodeKind.RULE, str(i)), _suite(test), self.labels[i])

    def entries(self, path: str) -> Iterable[tuple[str, str]]:
        for i in self.index.match(path):
            yield node_id(NodeKind.RULE, str(i)), self.labels[i]


class SuitePathMethod(SelectorMethod):
    """A change inside a suite's own ``path`` (its specs, its module) selects it."""

    name = MethodName.SUITE_PATH

    def __init__(self, ctx: SelectionContext) -> None:
        super().__init__(ctx)
        self.by_path: dict[str, list[str]] = defaultdict(list)
        for name, suite in ctx.catalogue.suites.items():
            if suite.path:
                norm = posixpath.normpath(suite.path.strip("/")) if suite.path.strip("/") else ""
                self.by_path[norm].append(name)
                if not ctx.repo.under(norm):
                    ctx.warn(f"suite {name!r}: path {suite.path!r} has no files")

    def entries(self, path: str) -> Iterable[tuple[str, str]]:
        for anc in (*ancestors(path), ""):
            for name in self.by_path.get(anc, ()):
                yield _suite(name), f"inside suite {name!r} path '{anc or '.'}'"


# --- lineage --------------------------------------------------------------------------------------


class LineageMethod(SelectorMethod):
    """Flink SQL lineage: a template runs in specs; specs read and write tables and topics.

    A change to a template selects the specs that run it and, through the
    tables and topics those specs write, every spec downstream of them.
    """

    name = MethodName.LINEAGE

    def __init__(self, ctx: SelectionContext) -> None:
        super().__init__(ctx)
        self._edges: list[Edge] = []
        self.nodes: set[str] = set()
        if not ctx.config.test_selection.lineage.enabled:
            return
        lin = ctx.config.test_selection.lineage
        sql_index: PatternIndex[bool] = PatternIndex()
        for p in lin.sql:
            sql_index.add(p, True)
        spec_index: PatternIndex[bool] = PatternIndex()
        for p in lin.specs:
            spec_index.add(p, True)
        flink_suites = [
            (name, s.path.strip("/"))
            for name, s in ctx.catalogue.suites.items()
            if s.kind is SuiteKind.FLINK and s.path
        ]
        spec_files = set(spec_index.filter(ctx.repo))
        for _name, spath in flink_suites:
            spec_files.update(f for f in ctx.repo.under(spath) if f.endswith((".yaml", ".yml")))
        self._suites_by_dir: dict[str, list[str]] = defaultdict(list)
        for name, spath in flink_suites:
            self._suites_by_dir[spath].append(name)
        for f in sorted(spec_files):
            self._spec(f)
        for f in sql_index.filter(ctx.repo):
            self._template(f)

    def _dataset(self, table: str, topics: dict[str, str]) -> str | None:
        if "{{" in table:
            return None  # unknown until rendered
        topic = topics.get(table)
        return node_id(NodeKind.TOPIC, topic) if topic else node_id(NodeKind.TABLE, table)

    def _link(self, node: str, lineage: Flow, topics: dict[str, str], what: str) -> None:
        topics = {**lineage.topics, **topics}
        for table, topic in topics.items():
            self._edges.append(
                self.edge(
                    node_id(NodeKind.TABLE, table),
                    node_id(NodeKind.TOPIC, topic),
                    f"table '{table}' is topic '{topic}'",
                )
            )
        for table in lineage.reads:
            ds = self._dataset(table, topics)
            if ds:
                self._edges.append(self.edge(ds, node, f"{what} reads {ds}"))
        for table in lineage.writes:
            ds = self._dataset(table, topics)
            if ds:
                self._edges.append(self.edge(node, ds, f"{what} writes {ds}"))

    def _spec(self, path: str) -> None:
        read = read_spec(self.ctx.repo, path, self.ctx.cache)
        if read is None:
            return
        if read.problem is not None:
            self.ctx.warn(f"{path}: not valid YAML; lineage skipped (its suite still selects it)")
            return
        node = node_id(NodeKind.SPEC, path)
        self.nodes.add(node)
        suites = [s for anc in (*ancestors(path), "") for s in self._suites_by_dir.get(anc, ())]
        for suite in suites:
            self._edges.append(self.edge(node, _suite(suite), f"suite {suite!r} runs {path}"))
        for k, test in enumerate(read.tests):
            # The transformation as this test runs it: inputs flow in, outputs flow out,
            # so an upstream change reaches everything downstream of it.
            run = node_id(NodeKind.SPEC, f"{path}::{k}")
            for suite in suites:
                self._edges.append(self.edge(run, _suite(suite), f"suite {suite!r} runs {path}"))
            if test.flink_sql:
                self._edges.append(self.edge(node, run, f"{path} defines its SQL inline"))
                self._link(run, self.ctx.lineage(test.flink_sql), test.topics, path)
            tpath = self._template_of(path, test)
            if tpath:
                tnode = node_id(NodeKind.SQL, tpath)
                self.nodes.add(tnode)
                self._edges.append(self.edge(tnode, run, f"{path} runs template {tpath}"))
                self._link(run, self._rendered(tpath, test.params), test.topics, path)

    def _template_of(self, spec: str, test: ScannedTest) -> str | None:
        """The repository path of the test's template, found as the runner finds it."""
        found = test.template(PurePosixPath(posixpath.dirname(spec)), self.ctx.repo.is_dir)
        if found is None:
            if test.sql_template:
                self.ctx.warn(f"{spec}: no flink/sql/ directory for template {test.sql_template!r}")
            return None
        return posixpath.normpath(str(found.path))

    def _rendered(self, template: str, params: dict[str, Any]) -> Flow:
        """Lineage of a template as a spec renders it (cached by blob id and params)."""
        cache = self.ctx.cache
        blob = self.ctx.repo.blobs.get(template)
        key = None
        if cache and blob:
            key = digest(blob + json.dumps(params, sort_keys=True, default=str))
            hit = cache.get("template", key)
            if hit is not None:
                return Flow.of(hit)
        raw = self.ctx.repo.read(template)
        if raw is None:
            return Flow([], [], {})
        from ctt.sql.lineage import render_loosely

        flow = self.ctx.lineage(render_loosely(raw, params))
        if cache and key:
            cache.put("template", key, flow._asdict())
        return flow

    def _template(self, path: str) -> None:
        text = self.ctx.repo.read(path)
        if text is None:
            return
        node = node_id(NodeKind.SQL, path)
        self.nodes.add(node)
        self._link(node, self.ctx.lineage(text), {}, path)

    def edges(self) -> Iterable[Edge]:
        return self._edges

    def entries(self, path: str) -> Iterable[tuple[str, str]]:
        for kind, what in ((NodeKind.SPEC, "spec"), (NodeKind.SQL, "SQL template")):
            node = node_id(kind, path)
            if node in self.nodes:
                yield node, f"{path} is a {what}"


_MODULE_BLOCK = re.compile(r'\bmodule\s*(?:"[^"]*"\s*)?\{')
_SOURCE = re.compile(r'^\s*source\s*=\s*"([^"]+)"', re.MULTILINE)
_FILE_REF = re.compile(r'\b(?:templatefile|file)\(\s*"\$\{path\.module\}/([^"]+)"')


def _blocks(text: str, opener: re.Pattern[str]) -> Iterator[str]:
    """The bodies of ``opener { ... }`` blocks, braces balanced (strings are not special)."""
    for match in opener.finditer(text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        yield text[match.end() : i - 1]


class ModuleMethod(SelectorMethod):
    """Terraform: a module uses another through ``module { source = "../x" }``.

    A change to a module selects the suites of every module that uses it,
    transitively; files a module reads with ``file()``/``templatefile()``
    belong to it too.
    """

    name = MethodName.MODULE

    def __init__(self, ctx: SelectionContext) -> None:
        super().__init__(ctx)
        self._edges: list[Edge] = []
        self.modules: set[str] = set()
        self.referenced: dict[str, list[str]] = defaultdict(list)  # file -> modules
        index: PatternIndex[bool] = PatternIndex()
        for p in ctx.config.test_selection.lineage.terraform:
            index.add(p, True)
        if ctx.config.test_selection.lineage.enabled:
            for f in index.filter(ctx.repo):
                self._file(f)
        for name, suite in ctx.catalogue.suites.items():
            if suite.kind is SuiteKind.TERRAFORM and suite.path:
                mod = posixpath.normpath(suite.path.strip("/"))
                self.modules.add(mod)
                self._edges.append(
                    self.edge(
                        node_id(NodeKind.MODULE, mod),
                        _suite(name),
                        f"suite {name!r} runs terraform test in {mod}",
                    )
                )

    def _parse(self, path: str) -> tuple[list[str], list[str]]:
        """Local module sources and ``${path.module}`` file references of one file."""
        cache = self.ctx.cache
        blob = self.ctx.repo.blobs.get(path)
        hit = cache.get("terraform", blob) if cache else None
        if hit is not None:
            return list(hit[0]), list(hit[1])
        text = self.ctx.repo.read(path) or ""
        sources = [
            src[1]
            for body in _blocks(text, _MODULE_BLOCK)
            if (src := _SOURCE.search(body)) and src[1].startswith(("./", "../"))
        ]  # registry and git sources are not in this repository
        refs = _FILE_REF.findall(text)
        if cache:
            cache.put("terraform", blob, [sources, refs])
        return sources, refs

    def _file(self, path: str) -> None:
        directory = posixpath.dirname(path)
        owner = directory
        if path.endswith(".tftest.hcl") and posixpath.basename(directory) == "tests":
            owner = posixpath.dirname(directory)  # <module>/tests/x.tftest.hcl tests <module>
        self.modules.add(owner)
        sources, refs = self._parse(path)
        for source in sources:
            used = posixpath.normpath(posixpath.join(owner, source))
            self.modules.add(used)
            self._edges.append(
                self.edge(
                    node_id(NodeKind.MODULE, used),
                    node_id(NodeKind.MODULE, owner),
                    f"{path} uses module {used}",
                )
            )
        for ref in refs:
            target = posixpath.normpath(posixpath.join(directory, ref))
            self.referenced[target].append(owner)

    def edges(self) -> Iterable[Edge]:
        return self._edges

    def entries(self, path: str) -> Iterable[tuple[str, str]]:
        for owner in self.referenced.get(path, ()):
            yield node_id(NodeKind.MODULE, owner), f"module {owner} reads {path}"
        for anc in ancestors(posixpath.dirname(path)):
            if anc in self.modules:
                yield node_id(NodeKind.MODULE, anc), f"{path} is in module {anc}"
                break


FLINK_SUITE_ENTRY = "ctt/commands/run.py"
"""What a ``kind: flink`` suite runs (``python -m ctt run PATH``): the ``run`` command.

Not ``ctt/cli.py``: the CLI imports every command lazily, so following it would
make every change to ctt select every Flink suite.
"""


class PythonImportMethod(SelectorMethod):
    """Python imports: a changed module selects the suites whose tests import it.

    Edges go from a file to each file that imports it (``a -> b``: b imports a),
    and from a suite's entry files to the suite: the files and directories its
    command names (``pytest tests/integration``: every Python file below it, and
    the ``conftest.py`` files pytest loads above it; ``python -m pkg``:
    ``pkg/__main__.py``), and the ``run`` command for Flink suites.
    """

    name = MethodName.PYTHON

    def __init__(self, ctx: SelectionContext) -> None:
        super().__init__(ctx)
        self._edges: list[Edge] = []
        self.files: set[str] = set()
        lin = ctx.config.test_selection.lineage
        if not lin.enabled or not lin.python:
            return
        index: PatternIndex[bool] = PatternIndex()
        for p in lin.python:
            index.add(p, True)
        self.files = set(index.filter(ctx.repo))
        modules = ModuleIndex(self.files)
        for path in sorted(self.files):
            for stmt in self._imports(path):
                for dep, name in modules.resolve(path, stmt):
                    if dep != path:
                        self._edges.append(self.edge(_py(dep), _py(path), f"{path} imports {name}"))
        for name, suite in ctx.catalogue.suites.items():
            for entry, rule in self._suite_entries(name, suite.kind, suite.command, suite.path):
                self._edges.append(self.edge(_py(entry), _suite(name), rule))

    def _imports(self, path: str) -> list[ImportFrom]:
        cache = self.ctx.cache
        key = self.ctx.repo.blobs.get(path)
        hit = cache.get("python", key) if cache else None
        if hit is not None:
            return [ImportFrom(level, module, list(names)) for level, module, names in hit]
        text = self.ctx.repo.read(path)
        if text is None:
            return []
        found = parse_imports(text)
        if cache:
            cache.put("python", key or digest(text), [list(s) for s in found])
        return found

    def _suite_entries(
        self, name: str, kind: SuiteKind, command: str | None, path: str | None
    ) -> Iterator[tuple[str, str]]:
        if kind is SuiteKind.FLINK:
            if FLINK_SUITE_ENTRY in self.files:
                yield FLINK_SUITE_ENTRY, f"suite {name!r} runs specs with 'ctt run'"
            return
        if kind is not SuiteKind.COMMAND or not command:
            return
        cwd = posixpath.normpath(path.strip("/")) if path and path.strip("/") else ""
        for target in command_entries(command, cwd):
            if target in self.files:
                yield target, f"suite {name!r} runs {target}"
                continue
            main = posixpath.join(target, "__main__.py") if target else "__main__.py"
            if main in self.files:
                yield main, f"suite {name!r} runs {target} ({main})"
                continue
            below = [f for f in self.ctx.repo.under(target) if f in self.files] if target else []
            if not below:
                continue
            rule = f"suite {name!r} runs the tests under {target}/"
            for f in below:
                yield f, rule
            for anc in ancestors(posixpath.dirname(target)):
                conftest = f"{anc}/conftest.py"
                if conftest in self.files:
                    yield conftest, f"suite {name!r} loads {conftest} (pytest, above {target}/)"
            if "conftest.py" in self.files:
                yield "conftest.py", f"suite {name!r} loads conftest.py (pytest rootdir)"

    def edges(self) -> Iterable[Edge]:
        return self._edges

    def entries(self, path: str) -> Iterable[tuple[str, str]]:
        if path in self.files:
            yield _py(path), f"{path} is a Python file"


def _py(path: str) -> str:
    return node_id(NodeKind.PYTHON, path)


class DependencyMethod(SelectorMethod):
    """``dependencies.X.requires``: whenever X runs, what it requires runs first."""

    name = MethodName.DEPENDENCY

    def edges(self) -> Iterable[Edge]:
        for name, dep in self.ctx.config.test_selection.dependencies.items():
            where = self.ctx.where("dependencies", name)
            for req in dep.requires:
                yield self.edge(_suite(name), _suite(req), f"{name!r} requires {req!r} ({where})")


class AlwaysRunMethod(SelectorMethod):
    """Suites marked ``always_run`` (suites.yaml) or listed in ``always_run`` (selection)."""

    name = MethodName.ALWAYS_RUN

    def seeds(self, changes: ChangeAnalysis) -> Iterable[Seed]:
        listed = self.ctx.config.test_selection.always_run
        for name, suite in self.ctx.catalogue.suites.items():
            if suite.always_run:
                yield name, Reason(method=self.name, rule="always_run: true in suites.yaml")
        for i, name in enumerate(listed):
            where = self.ctx.where("always_run", i)
            yield name, Reason(method=self.name, rule=f"listed in always_run ({where})")


class PreviousFailureMethod(SelectorMethod):
    """Suites that failed in the last recorded run are rerun until they pass."""

    name = MethodName.PREVIOUS_FAILURE

    def seeds(self, changes: ChangeAnalysis) -> Iterable[Seed]:
        if self.ctx.history is None or not self.ctx.config.test_selection.previous_failures:
            return
        for name in sorted(self.ctx.history.last_failed_suites()):
            if name in self.ctx.catalogue.suites:
                yield name, Reason(method=self.name, rule="failed in the last recorded run")


class GlobalPathMethod(SelectorMethod):
    """A change to a global path (CI config, lock files) can affect anything: run all."""

    name = MethodName.GLOBAL_PATH

    def __init__(self, ctx: SelectionContext) -> None:
        super().__init__(ctx)
        self.index: PatternIndex[str] = PatternIndex()
        for pattern in ctx.config.test_selection.change_detection.global_paths:
            self.index.add(pattern, pattern)

    def seeds(self, changes: ChangeAnalysis) -> Iterable[Seed]:
        for path in sorted(changes.paths()):
            hits = self.index.match(path)
            if hits:
                reason = Reason(
                    method=self.name,
                    rule=f"global path '{hits[0]}' changed: everything runs",
                    change=path,
                )
                for name in self.ctx.catalogue.suites:
                    yield name, reason
                return


METHODS: dict[MethodName, type[SelectorMethod]] = {
    MethodName.PATH: PathRuleMethod,
    MethodName.SUITE_PATH: SuitePathMethod,
    MethodName.LINEAGE: LineageMethod,
    MethodName.MODULE: ModuleMethod,
    MethodName.PYTHON: PythonImportMethod,
    MethodName.DEPENDENCY: DependencyMethod,
    MethodName.ALWAYS_RUN: AlwaysRunMethod,
    MethodName.PREVIOUS_FAILURE: PreviousFailureMethod,
    MethodName.GLOBAL_PATH: GlobalPathMethod,
}
"""Every selection kind by name; select.py instantiates them all."""

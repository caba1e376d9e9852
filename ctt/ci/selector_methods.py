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

import bisect
import contextlib
import dataclasses
import hashlib
import json
import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar

import yaml
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from ctt.ci.analysis import ChangeAnalysis
from ctt.ci.graph import Edge, NodeKind, node_id
from ctt.ci.plan import Reason
from ctt.config.selection import SelectionConfig
from ctt.config.suites import SuiteCatalogue, SuiteKind
from ctt.errors import ConfigError

if TYPE_CHECKING:
    from ctt.sql.lineage import SqlLineage

__all__ = [
    "METHODS",
    "History",
    "JsonHistory",
    "LineageCache",
    "MethodName",
    "PatternIndex",
    "RepoFiles",
    "SelectionContext",
    "SelectorMethod",
    "StoreHistory",
    "open_history",
]

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class MethodName(StrEnum):
    PATH = "path"  # change_detection.paths rules
    SUITE_PATH = "suite_path"  # files under a suite's own path
    LINEAGE = "lineage"  # Flink SQL templates, specs, tables and topics
    MODULE = "module"  # Terraform modules and the modules they use
    DEPENDENCY = "dependency"  # dependencies.<suite>.requires
    ALWAYS_RUN = "always_run"
    PREVIOUS_FAILURE = "previous_failure"
    GLOBAL_PATH = "global_path"


# --- inputs ---------------------------------------------------------------------------------------


class History(Protocol):
    """What selection needs from the history store (ctt/ci/history.py may satisfy it)."""

    def last_failed_suites(self) -> set[str]: ...

    def median_durations(self) -> dict[str, float]: ...


@dataclass
class JsonHistory:
    """A history summary as JSON: ``{"last_failed": [...], "median_durations": {...}}``."""

    last_failed: set[str] = field(default_factory=set)
    durations: dict[str, float] = field(default_factory=dict)

    def last_failed_suites(self) -> set[str]:
        return set(self.last_failed)

    def median_durations(self) -> dict[str, float]:
        return dict(self.durations)

    @classmethod
    def load(cls, path: Path) -> JsonHistory:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("history file not found", file=str(path)) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read history: {exc}", file=str(path)) from None
        if not isinstance(data, dict):
            raise ConfigError("history must be a JSON object", file=str(path))
        failed = data.get("last_failed", [])
        durations = data.get("median_durations", {})
        if not isinstance(failed, list) or not isinstance(durations, dict):
            raise ConfigError(
                "expected 'last_failed' (a list) and 'median_durations' (an object)",
                file=str(path),
            )
        return cls({str(x) for x in failed}, {str(k): float(v) for k, v in durations.items()})


class StoreHistory:
    """Adapts the history database (ctt/ci/history.py) to :class:`History`."""

    def __init__(self, target: str | Path, suites: Iterable[str], branch: str | None = None):
        self.target = target
        self.suites = list(suites)
        self.branch = branch

    def last_failed_suites(self) -> set[str]:
        """Suites whose most recent recorded run (on ``branch`` when given) failed."""
        import sqlalchemy as sa

        from ctt.ci.history import HistoryStore, runs_t, suites_t

        q = (
            sa.select(suites_t.c.name, suites_t.c.status)
            .join(runs_t, runs_t.c.id == suites_t.c.run_id)
            .order_by(runs_t.c.created_at.desc(), runs_t.c.id.desc())
        )
        if self.branch:
            q = q.where(runs_t.c.branch == self.branch)
        latest: dict[str, str] = {}
        with HistoryStore.open(self.target) as store, store.engine.connect() as conn:
            for name, status in conn.execute(q):
                latest.setdefault(str(name), str(status))
        return {n for n, st in latest.items() if st in ("failed", "error", "errored", "timeout")}

    def median_durations(self) -> dict[str, float]:
        from ctt.ci.history import HistoryStore

        with HistoryStore.open(self.target) as store:
            return {n: m for n, (m, _k) in store.duration_baselines(self.suites).items()}


def open_history(path: Path | str, suites: Iterable[str], branch: str | None = None) -> History:
    """A JSON summary (``*.json``) or the history database (SQLite path or PostgreSQL URL)."""
    if str(path).endswith(".json"):
        return JsonHistory.load(Path(path))
    if "://" not in str(path) and not Path(path).exists():
        raise ConfigError("history database not found", file=str(path))
    return StoreHistory(path, suites, branch)


class RepoFiles:
    """The repository's files (sorted, root-relative) and a way to read them."""

    def __init__(self, root: Path, files: Iterable[str], blobs: dict[str, str] | None = None):
        self.root = root
        self.files = sorted(set(files))
        self.blobs = blobs or {}
        self._set = set(self.files)

    def __contains__(self, path: str) -> bool:
        return path in self._set

    def under(self, prefix: str) -> Sequence[str]:
        """Files equal to ``prefix`` or below it, from the sorted list."""
        prefix = prefix.strip("/")
        if not prefix:
            return self.files
        lo = bisect.bisect_left(self.files, prefix)
        hi = bisect.bisect_left(self.files, prefix + "/\uffff")
        return [f for f in self.files[lo:hi] if f == prefix or f.startswith(prefix + "/")]

    def read(self, path: str) -> str | None:
        try:
            return (self.root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    @classmethod
    def walk(cls, root: Path) -> RepoFiles:
        """Every file below ``root`` (for directories that are not git repositories)."""
        files: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = os.path.relpath(dirpath, root)
            for name in filenames:
                files.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
        return cls(root, files)


T = TypeVar("T")
_GLOB_CHARS = re.compile(r"[*?\[\\]")
_PLAIN = re.compile(r"[^*?\[\]\\!#\s]+")  # no glob, escape, negation or comment characters


def _ancestors(path: str) -> Iterator[str]:
    """``a/b/c`` -> ``a/b/c``, ``a/b``, ``a``."""
    while path:
        yield path
        path = path.rpartition("/")[0]


def _plain_path(text: str) -> bool:
    """No glob, escape, comment or negation characters, and no ``.``/``..`` segments."""
    return bool(_PLAIN.fullmatch(text)) and not any(s in (".", "..") for s in text.split("/"))


class _Rule:
    """One gitignore-style pattern as a path test.

    Plain names and ``*.ext`` suffixes (most rules and every lineage default)
    are string tests; other patterns keep pathspec's regex, compiled on first
    use: compiling 3,000 regexes cost ~0.3 s of every ``ctt select``.
    """

    __slots__ = ("_dir", "_regex", "_source", "dir_only", "kind", "text")

    def __init__(self, pattern: str, anchored: bool, body: str) -> None:
        self._source: str | None = None  # pathspec's regex, for kind "regex" only
        self._regex: re.Pattern[str] | None = None
        self.dir_only = pattern.rstrip().endswith("/")
        self.kind = "regex"
        self.text = self._dir = ""
        if pattern != pattern.strip() or "//" in pattern:
            return
        head, sep, tail = body.partition("/**/*")
        if anchored and sep:
            # "dir/**/*.py": below dir, any segment ending in ".py" (most glob rules)
            if _plain_path(head) and _PLAIN.fullmatch(tail) and "/" not in tail:
                self.kind, self.text, self._dir = "under_suffix", tail, head + "/"
            return
        star = not anchored and body.startswith("*")
        rest = body[1:] if star else body
        if not _plain_path(rest):
            return
        if anchored:
            self.kind, self.text = "anchored", rest  # "a/b" or "/a/b/"
        elif star:
            self.kind, self.text = "suffix", rest  # "*.sql"
        else:
            self.kind, self.text = "name", rest  # "foo" at any depth
        self._dir = self.text + "/"

    def match(self, path: str) -> bool:
        text = self.text
        if self.kind == "anchored":
            return path.startswith(self._dir) or (not self.dir_only and path == text)
        if self.kind == "suffix":
            return self._dir in path or (not self.dir_only and path.endswith(text))
        if self.kind == "under_suffix":
            if not path.startswith(self._dir):
                return False
            rest = path[len(self._dir) :]
            return (text + "/") in rest or (not self.dir_only and rest.endswith(text))
        if self.kind == "name":
            if path.startswith(self._dir) or f"/{self._dir}" in path:
                return True
            return not self.dir_only and (path == text or path.endswith("/" + text))
        regex = self._regex
        if regex is None:
            regex = self._regex = re.compile(self._source or "(?!)")
        return regex.match(path) is not None


class PatternIndex(Generic[T]):
    """Gitignore-style patterns indexed by their literal leading directory.

    Matching a path costs a dict lookup per ancestor plus the few patterns
    anchored there, instead of one regex per rule: 10,000 rules stay fast.
    """

    def __init__(self) -> None:
        self._anchored: dict[str, list[tuple[_Rule, T]]] = defaultdict(list)
        self._floating: list[tuple[_Rule, T]] = []
        self.entries: list[tuple[str, str, T]] = []  # (pattern, literal prefix, payload)
        self._rules: list[_Rule] = []

    def add(self, pattern: str, payload: T) -> None:
        body = pattern.strip().lstrip("/").rstrip("/")
        anchored = pattern.startswith("/") or "/" in body
        literal: list[str] = []
        if anchored:
            for seg in body.split("/"):
                if _GLOB_CHARS.search(seg):
                    break
                literal.append(seg)
        prefix = "/".join(literal)
        rule = _Rule(pattern, anchored, body)
        if rule.kind == "regex":
            rule._source, _include = GitIgnoreSpecPattern.pattern_to_regex(pattern)
            if rule._source is None:
                return  # a comment or an empty pattern
        if anchored:
            self._anchored[prefix].append((rule, payload))
        else:
            self._floating.append((rule, payload))
        self.entries.append((pattern, prefix if anchored else "", payload))
        self._rules.append(rule)

    def match(self, path: str) -> list[T]:
        out = [p for rule, p in self._floating if rule.match(path)]
        for anc in (*_ancestors(path), ""):
            for rule, p in self._anchored.get(anc, ()):
                if rule.match(path):
                    out.append(p)
        return out

    def filter(self, files: RepoFiles) -> list[str]:
        """The repository's files that some pattern matches (bisect ranges, not a full scan)."""
        out: set[str] = set()
        for rule, _ in self._floating:
            if rule.kind == "suffix" and not rule.dir_only:  # "*.sql": one pass, no calls
                text, sub = rule.text, rule._dir
                out.update(f for f in files.files if f.endswith(text) or sub in f)
            else:
                out.update(filter(rule.match, files.files))
        for prefix, rules in self._anchored.items():
            out.update(f for f in files.under(prefix) if any(r.match(f) for r, _ in rules))
        return sorted(out)

    def matches_any(self, files: RepoFiles, index: int) -> bool:
        """Whether entry ``index`` matches some file of the repository."""
        rule = self._rules[index]
        return any(rule.match(f) for f in files.under(self.entries[index][1]))


class LineageCache:
    """Parsed lineage reused across runs, keyed by git blob id or text hash.

    Sections: ``spec`` (a spec file's tests), ``sql`` (lineage of a SQL text),
    ``template`` (lineage of a template rendered with given params), ``terraform``
    (a file's module sources and file references). A JSON file
    (``.ctt/cache/lineage.json``); entries a run did not use are dropped when it
    is saved, so it never outgrows the repository.
    """

    FILE = "lineage.json"
    VERSION = 2
    SECTIONS = ("spec", "sql", "template", "terraform")

    def __init__(self, path: Path, old: dict[str, dict[str, Any]]) -> None:
        self.path = path
        self._old = {k: old.get(k, {}) for k in self.SECTIONS}
        self._new: dict[str, dict[str, Any]] = {k: {} for k in self.SECTIONS}
        self.hits = 0

    @classmethod
    def load(cls, path: Path) -> LineageCache:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == cls.VERSION:
                return cls(path, {k: dict(data[k]) for k in cls.SECTIONS})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # a missing or stale cache is rebuilt
        return cls(path, {})

    def get(self, section: str, key: str | None) -> Any:
        if key is None:
            return None
        value = self._new[section].get(key)
        if value is not None:
            return value
        value = self._old[section].get(key)
        if value is not None:
            self._new[section][key] = value
            self.hits += 1  # reused from an earlier run
        return value

    def put(self, section: str, key: str | None, value: Any) -> None:
        if key is not None:
            self._new[section][key] = value

    def lineage(self, text: str, key: str | None = None) -> Flow:
        """Lineage of a SQL text (``key``: a cheaper identity of it, such as a blob id)."""
        key = key or _digest(text)
        hit = self.get("sql", key)
        if hit is None:
            hit = _parse_sql(text)
            self.put("sql", key, hit)
        return Flow.of(hit)

    def save(self) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            doc = {"version": self.VERSION, **self._new}
            tmp.write_text(json.dumps(doc, separators=(",", ":"), default=str), encoding="utf-8")
            tmp.replace(self.path)


class Flow(NamedTuple):
    """What selection needs of a :class:`~ctt.sql.lineage.SqlLineage`, without validation.

    Cache hits (thousands per run) become one of these straight from JSON.
    """

    reads: list[str]
    writes: list[str]
    topics: dict[str, str]

    @classmethod
    def of(cls, data: dict[str, Any]) -> Flow:
        return cls(
            list(data.get("reads", ())), list(data.get("writes", ())), data.get("topics", {})
        )


def _parse_sql(text: str) -> dict[str, Any]:
    """``sql_lineage`` as JSON; imported on a cache miss only (it pulls in jinja2)."""
    from ctt.sql.lineage import sql_lineage

    result: SqlLineage = sql_lineage(text)
    dumped: dict[str, Any] = result.model_dump(mode="json")
    for name in ("reads", "writes", "declared", "templated"):
        dumped[name] = sorted(dumped[name])  # a stable order: edges and explanations repeat
    return dumped


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


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
        return self.cache.lineage(text, key) if self.cache else Flow.of(_parse_sql(text))

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
        for anc in (*_ancestors(path), ""):
            for name in self.by_path.get(anc, ()):
                yield _suite(name), f"inside suite {name!r} path '{anc or '.'}'"


# --- lineage --------------------------------------------------------------------------------------


@dataclass
class _SpecTest:
    sql: str | None
    template: str | None
    params: dict[str, Any]
    topics: dict[str, str]


def _spec_tests(data: Any) -> Iterator[_SpecTest]:
    """Every mapping with ``flink_sql`` or ``sql_template`` anywhere in a spec document."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        sql = node.get("flink_sql")
        template = node.get("sql_template")
        if isinstance(sql, str) or isinstance(template, str):
            tables = node.get("tables")
            topics: dict[str, str] = {}
            if isinstance(tables, dict):
                for tname, tdef in tables.items():
                    topic = tdef.get("topic") if isinstance(tdef, dict) else None
                    if isinstance(topic, str) and topic:
                        topics[str(tname).lower()] = topic
            params = node.get("params")
            yield _SpecTest(
                sql if isinstance(sql, str) else None,
                template if isinstance(template, str) else None,
                params if isinstance(params, dict) else {},
                topics,
            )
        stack.extend(v for v in node.values() if isinstance(v, (dict, list)))


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

    def _spec_tests(self, path: str) -> list[_SpecTest] | None:
        cache = self.ctx.cache
        blob = self.ctx.repo.blobs.get(path)
        cached = cache.get("spec", blob) if cache else None
        if cached is not None:
            return [_SpecTest(**t) for t in cached]
        text = self.ctx.repo.read(path)
        if text is None:
            return None
        try:
            data = yaml.load(text, Loader=_SafeLoader)  # CSafeLoader when libyaml is there
        except yaml.YAMLError:
            self.ctx.warn(f"{path}: not valid YAML; lineage skipped (its suite still selects it)")
            return None
        tests = list(_spec_tests(data))
        if cache:
            cache.put("spec", blob, [dataclasses.asdict(t) for t in tests])
        return tests

    def _spec(self, path: str) -> None:
        tests = self._spec_tests(path)
        if tests is None:
            return
        node = node_id(NodeKind.SPEC, path)
        self.nodes.add(node)
        suites = [s for anc in (*_ancestors(path), "") for s in self._suites_by_dir.get(anc, ())]
        for suite in suites:
            self._edges.append(self.edge(node, _suite(suite), f"suite {suite!r} runs {path}"))
        for k, test in enumerate(tests):
            # The transformation as this test runs it: inputs flow in, outputs flow out,
            # so an upstream change reaches everything downstream of it.
            run = node_id(NodeKind.SPEC, f"{path}::{k}")
            for suite in suites:
                self._edges.append(self.edge(run, _suite(suite), f"suite {suite!r} runs {path}"))
            if test.sql:
                self._edges.append(self.edge(node, run, f"{path} defines its SQL inline"))
            if test.template:
                tpath = self._resolve(path, test.template)
                tnode = node_id(NodeKind.SQL, tpath)
                self.nodes.add(tnode)
                self._edges.append(self.edge(tnode, run, f"{path} runs template {tpath}"))
                self._link(run, self._rendered(tpath, test.params), test.topics, path)
            if test.sql:
                self._link(run, self.ctx.lineage(test.sql), test.topics, path)

    def _rendered(self, template: str, params: dict[str, Any]) -> Flow:
        """Lineage of a template as a spec renders it (cached by blob id and params)."""
        cache = self.ctx.cache
        blob = self.ctx.repo.blobs.get(template)
        key = None
        if cache and blob:
            key = _digest(blob + json.dumps(params, sort_keys=True, default=str))
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

    def _resolve(self, spec: str, template: str) -> str:
        template = template.replace("\\", "/")
        beside = posixpath.normpath(posixpath.join(posixpath.dirname(spec), template))
        rooted = posixpath.normpath(template.lstrip("/"))
        return beside if beside in self.ctx.repo and rooted not in self.ctx.repo else rooted

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
        for anc in _ancestors(posixpath.dirname(path)):
            if anc in self.modules:
                yield node_id(NodeKind.MODULE, anc), f"{path} is in module {anc}"
                break


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
    MethodName.DEPENDENCY: DependencyMethod,
    MethodName.ALWAYS_RUN: AlwaysRunMethod,
    MethodName.PREVIOUS_FAILURE: PreviousFailureMethod,
    MethodName.GLOBAL_PATH: GlobalPathMethod,
}
"""Every selection kind by name; select.py instantiates them all."""

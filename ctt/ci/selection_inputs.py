"""What selection reads: the repository's files, gitignore-style pattern indexes, lineage, specs.

Selector methods (selector_methods.py) ask these questions thousands of times
on a large repository, so each answer is indexed (files by sorted prefix,
patterns by literal leading directory) or cached across runs (lineage and spec
scans by git blob id, :class:`LineageCache`).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from ctt.config.spec_scan import ScannedTest
from ctt.errors import UsageError

if TYPE_CHECKING:
    from ctt.sql.lineage import SqlLineage

__all__ = [
    "Flow",
    "LineageCache",
    "PatternIndex",
    "RepoFiles",
    "SpecRead",
    "ancestors",
    "read_spec",
    "repo_files",
]


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

    def is_dir(self, path: PurePosixPath) -> bool:
        """Whether some file lies below ``path`` (git lists files, not directories)."""
        prefix = str(path).strip("/") + "/"
        i = bisect.bisect_left(self.files, prefix)
        return i < len(self.files) and self.files[i].startswith(prefix)

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


def repo_files(root: Path) -> RepoFiles:
    """Tracked and untracked (not ignored) files of a git work tree, else every file."""
    from ctt.ci.analyze import GitRepo

    try:
        repo = GitRepo(root)
    except UsageError:
        return RepoFiles.walk(root)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # git walks the tree meanwhile
        unstaged = pool.submit(repo.unstaged)
        blobs = repo.blob_ids()
        files = [*blobs]
        for path in unstaged.result():
            # An index blob id names the staged text: a file edited since has no cache key
            # (it is read and parsed), or its cached lineage would be the old text's.
            if blobs.pop(path, None) is None:
                files.append(path)  # untracked
        return RepoFiles(repo.root, files, blobs)


T = TypeVar("T")
_GLOB_CHARS = re.compile(r"[*?\[\\]")
_PLAIN = re.compile(r"[^*?\[\]\\!#\s]+")  # no glob, escape, negation or comment characters


def ancestors(path: str) -> Iterator[str]:
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
        for anc in (*ancestors(path), ""):
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

    Sections: ``spec`` (a spec file's tests, as :func:`scan_data` reads them), ``sql`` (lineage of a SQL text),
    ``template`` (lineage of a template rendered with given params), ``terraform``
    (a file's module sources and file references), ``python`` (a Python file's import
    statements). A JSON file
    (``.ctt/cache/lineage.json``); entries a run did not use are dropped when it
    is saved, so it never outgrows the repository.
    """

    FILE = "lineage.json"
    VERSION = 4  # 3: spec entries are ScannedTest dumps; 4: python imports
    SECTIONS = ("spec", "sql", "template", "terraform", "python")

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
        key = key or digest(text)
        hit = self.get("sql", key)
        if hit is None:
            hit = parse_sql(text)
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


def parse_sql(text: str) -> dict[str, Any]:
    """``sql_lineage`` as JSON; imported on a cache miss only (it pulls in jinja2)."""
    from ctt.sql.lineage import sql_lineage

    result: SqlLineage = sql_lineage(text)
    dumped: dict[str, Any] = result.model_dump(mode="json")
    for name in ("reads", "writes", "declared", "templated"):
        dumped[name] = sorted(dumped[name])  # a stable order: edges and explanations repeat
    return dumped


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


class SpecRead(NamedTuple):
    """A spec file's tests as the lenient scanner reads them, or why it could not."""

    tests: list[ScannedTest]
    problem: str | None = None


def read_spec(files: RepoFiles, path: str, cache: LineageCache | None = None) -> SpecRead | None:
    """The tests of one spec file of the repository (None: unreadable), cached by blob id.

    Uses :mod:`ctt.config.spec_scan`, the reading the runner agrees with, so a
    spec that does not validate still shows what it runs.
    """
    from ctt.config.spec_scan import scan_spec

    blob = files.blobs.get(path)
    cached = cache.get("spec", blob) if cache else None
    if cached is not None:
        return SpecRead([ScannedTest.model_validate(t) for t in cached])
    text = files.read(path)
    if text is None:
        return None
    scan = scan_spec(path, text)
    if scan.problem is None and cache:
        cache.put("spec", blob, [t.model_dump(mode="json") for t in scan.tests])
    return SpecRead(scan.tests, scan.problem)

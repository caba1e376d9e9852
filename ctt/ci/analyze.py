"""Change analysis: which files changed between two states of a git repository.

git is run as a subprocess with ``-z`` output and ``core.quotepath=false`` so
paths with spaces, quotes or non-ASCII characters arrive byte-exact. The range
comes from ``--base/--head``, from GitLab's merge request or push variables, or
is the working tree against HEAD. Shallow clones are detected and the error
says how to deepen them, instead of silently comparing against the wrong base.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ctt.ci.analysis import ChangeAnalysis, ChangedFile, DiffSource, FileStatus
from ctt.errors import InfraError, UsageError

__all__ = ["GitRepo", "Range", "analyze", "resolve_range"]

_ZERO_SHA = frozenset({"0" * 40, "0" * 64})
_DEEPEN_HINT = (
    "this is a shallow clone; fetch more history with 'git fetch --deepen=200' "
    "(or 'git fetch --unshallow'), or set GIT_DEPTH: 0 for the job in .gitlab-ci.yml"
)
_STATUS = {
    "A": FileStatus.ADDED,
    "M": FileStatus.MODIFIED,
    "D": FileStatus.DELETED,
    "R": FileStatus.RENAMED,
    "C": FileStatus.COPIED,
    "T": FileStatus.TYPE_CHANGED,
    "U": FileStatus.UNMERGED,
}


_INDEX_ENTRY = re.compile(r"[0-7]+ ([0-9a-f]+) [0-3]\t([^\0]*)\0")


class GitRepo:
    """A git working tree, driven through the git CLI."""

    def __init__(self, path: Path | str = ".") -> None:
        if shutil.which("git") is None:
            raise InfraError("git is not installed", hint="install git and retry")
        self.path = Path(path)
        out = self._run("rev-parse", "--show-toplevel", check=False)
        if out is None:
            raise UsageError(
                f"{self.path} is not inside a git repository",
                hint="run ctt analyze from the repository, or pass --repo",
            )
        self.root = Path(out.decode().strip())
        self.path = self.root  # run everything from the top, so paths are root-relative

    def _run(self, *args: str, check: bool = True) -> bytes | None:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=false", *args],
            cwd=self.path,
            capture_output=True,
            check=False,
            env={**os.environ, "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"},
        )
        if proc.returncode != 0:
            if check:
                err = proc.stderr.decode(errors="replace").strip()
                raise UsageError(f"git {' '.join(args)} failed: {err}")
            return None
        return proc.stdout

    def git(self, *args: str) -> bytes:
        out = self._run(*args)
        assert out is not None
        return out

    def try_git(self, *args: str) -> str | None:
        out = self._run(*args, check=False)
        return out.decode().strip() if out is not None else None

    def commit(self, ref: str) -> str | None:
        """Full SHA of a commit-ish, or None when it is not in this clone."""
        return self.try_git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")

    def is_shallow(self) -> bool:
        return self.try_git("rev-parse", "--is-shallow-repository") == "true"

    def has_commits(self) -> bool:
        return self.commit("HEAD") is not None

    def parents(self, sha: str) -> list[str]:
        line = self.try_git("rev-list", "--parents", "-n", "1", sha) or ""
        return line.split()[1:]

    def is_shallow_boundary(self, sha: str) -> bool:
        """True when history stops at ``sha`` only because the clone is shallow."""
        if not self.is_shallow():
            return False
        shallow_file = self.try_git("rev-parse", "--git-path", "shallow")
        if not shallow_file:
            return False
        path = Path(shallow_file)
        if not path.is_absolute():
            path = self.path / path
        try:
            return sha in path.read_text().split()
        except OSError:
            return False

    def merge_base(self, a: str, b: str) -> str | None:
        return self.try_git("merge-base", a, b)

    def empty_tree(self) -> str:
        return self.git("hash-object", "-t", "tree", "--stdin").decode().strip()

    def ls_files(self) -> list[str]:
        """Tracked files, root-relative."""
        out = self.git("ls-files", "-z", "--full-name")
        return [p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p]

    def blob_ids(self) -> dict[str, str]:
        """Tracked path -> blob SHA from the index (a cheap content key for caches)."""
        out = self.git("ls-files", "-s", "-z", "--full-name")
        text = out.decode("utf-8", errors="surrogateescape")
        # "<mode> <blob> <stage>\t<path>\0" per entry; one regex pass (100,000 files: ~0.05 s)
        return {path: blob for blob, path in _INDEX_ENTRY.findall(text)}

    def unstaged(self) -> list[str]:
        """Files whose work-tree content the index does not hold, in one walk of the tree:
        untracked (not ignored) ones and tracked ones edited or deleted since staged."""
        out = self.git(
            "ls-files", "-z", "--others", "--modified", "--exclude-standard", "--full-name"
        )
        return [p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p]

    def untracked(self) -> list[str]:
        out = self.git("ls-files", "-z", "--others", "--exclude-standard", "--full-name")
        return [p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p]

    def diff(self, base: str, head: str | None) -> list[ChangedFile]:
        """Files changed from ``base`` to ``head`` (the working tree when None)."""
        rev = [base] if head is None else [base, head]
        common = ["diff", "--no-color", "--no-ext-diff", "-M", "-z"]
        names = self.git(*common, "--name-status", *rev, "--")
        nums = self.git(*common, "--numstat", *rev, "--")
        return _parse_diff(names, nums)


class _Fields:
    """The NUL-separated fields of ``git diff -z`` output, read in order."""

    def __init__(self, raw: bytes) -> None:
        self._items = raw.decode("utf-8", errors="surrogateescape").split("\0")
        self._i = 0

    def take(self) -> str:
        """The next field ("" past the end)."""
        i = self._i
        self._i += 1
        return self._items[i] if i < len(self._items) else ""

    def records(self) -> Iterator[str]:
        """The first field of each record; :meth:`take` reads the record's further fields."""
        while self._i < len(self._items):
            record = self.take()
            if record:
                yield record


def _parse_numstat(raw: bytes) -> dict[str, tuple[int | None, int | None]]:
    out: dict[str, tuple[int | None, int | None]] = {}
    fields = _Fields(raw)
    for record in fields.records():
        add, dele, path = [*record.split("\t", 2), "", ""][:3]
        if not path:  # a rename: the two paths follow as their own fields
            fields.take()
            path = fields.take()
        out[path] = (None if add == "-" else int(add), None if dele == "-" else int(dele))
    return out


def _parse_diff(names: bytes, nums: bytes) -> list[ChangedFile]:
    counts = _parse_numstat(nums)
    fields = _Fields(names)
    files: list[ChangedFile] = []
    for code in fields.records():
        status = _STATUS.get(code[0], FileStatus.MODIFIED)
        old = fields.take() if code[0] in "RC" else None
        path = fields.take()
        add, dele = counts.get(path, (None, None))
        binary = path in counts and add is None
        files.append(
            ChangedFile(
                path=path, status=status, old_path=old, binary=binary, additions=add, deletions=dele
            )
        )
    return files


@dataclass(frozen=True)
class Range:
    """What to compare: ``base`` (None: empty tree) against ``head`` (None: working tree)."""

    source: DiffSource
    base: str | None
    head: str | None
    merge_base: bool = False
    initial: bool = False


def _need(repo: GitRepo, ref: str, what: str, fetch_hint: str | None = None) -> str:
    sha = repo.commit(ref)
    if sha is not None:
        return sha
    if repo.is_shallow():
        raise UsageError(f"{what} {ref!r} is not in this clone", hint=_DEEPEN_HINT)
    raise UsageError(
        f"{what} {ref!r} is not a commit in this repository",
        hint=fetch_hint or "check the name, or fetch it first",
    )


def _parent_or_root(repo: GitRepo, source: DiffSource, head: str) -> Range:
    parents = repo.parents(head)
    if parents:
        return Range(source, parents[0], head)
    if repo.is_shallow_boundary(head):
        raise UsageError(f"the parent of {head[:12]} is not in this clone", hint=_DEEPEN_HINT)
    return Range(source, None, head, initial=True)


def _with_merge_base(repo: GitRepo, source: DiffSource, base: str, head: str) -> Range:
    mb = repo.merge_base(base, head)
    if mb is not None:
        return Range(source, mb, head, merge_base=True)
    if repo.is_shallow():
        raise UsageError(
            f"no common ancestor of {base[:12]} and {head[:12]} in this clone", hint=_DEEPEN_HINT
        )
    return Range(source, base, head)  # unrelated histories: compare the trees directly


def resolve_range(
    repo: GitRepo,
    base: str | None = None,
    head: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    use_merge_base: bool = True,
) -> Range:
    """Pick the comparison from arguments first, then GitLab variables, then the working tree."""
    env = os.environ if env is None else env
    if base is not None:
        head_sha = _need(repo, head or "HEAD", "head")
        base_sha = _need(repo, base, "base")
        if use_merge_base:
            return _with_merge_base(repo, DiffSource.RANGE, base_sha, head_sha)
        return Range(DiffSource.RANGE, base_sha, head_sha)
    if head is not None:
        return _parent_or_root(repo, DiffSource.RANGE, _need(repo, head, "head"))

    ci_head = env.get("CI_COMMIT_SHA") or "HEAD"
    diff_base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")
    target = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
    if diff_base:
        head_sha = _need(repo, ci_head, "CI_COMMIT_SHA")
        base_sha = _need(
            repo,
            diff_base,
            "CI_MERGE_REQUEST_DIFF_BASE_SHA",
            fetch_hint=f"git fetch origin {target}" if target else None,
        )
        return Range(DiffSource.MERGE_REQUEST, base_sha, head_sha, merge_base=True)
    if target:
        head_sha = _need(repo, ci_head, "CI_COMMIT_SHA")
        ref = next((r for r in (f"origin/{target}", target) if repo.commit(r)), None)
        if ref is None:
            hint = _DEEPEN_HINT if repo.is_shallow() else None
            raise UsageError(
                f"target branch {target!r} is not in this clone",
                hint=hint or f"run 'git fetch origin {target}' first",
            )
        return _with_merge_base(
            repo, DiffSource.MERGE_REQUEST, _need(repo, ref, "target"), head_sha
        )
    before = env.get("CI_COMMIT_BEFORE_SHA")
    if before is not None:
        head_sha = _need(repo, ci_head, "CI_COMMIT_SHA")
        if before and before not in _ZERO_SHA:
            return Range(DiffSource.PUSH, _need(repo, before, "CI_COMMIT_BEFORE_SHA"), head_sha)
        default = env.get("CI_DEFAULT_BRANCH")
        ref = next((r for r in (f"origin/{default}",) if default and repo.commit(r)), None)
        if ref is not None and repo.commit(ref) != head_sha:
            return _with_merge_base(repo, DiffSource.PUSH, _need(repo, ref, "default"), head_sha)
        return _parent_or_root(repo, DiffSource.PUSH, head_sha)
    return Range(DiffSource.WORKING_TREE, repo.commit("HEAD"), None)


def changed_files(repo: GitRepo, rng: Range) -> list[ChangedFile]:
    if rng.source is DiffSource.WORKING_TREE:
        base = rng.base or repo.empty_tree()
        files = repo.diff(base, None) if rng.base else []
        tracked_new = [] if rng.base else repo.ls_files()
        seen = {f.path for f in files}
        for path in [*tracked_new, *repo.untracked()]:
            if path not in seen:
                seen.add(path)
                files.append(ChangedFile(path=path, status=FileStatus.ADDED))
        return files
    return repo.diff(rng.base or repo.empty_tree(), rng.head)


def analyze(
    repo: GitRepo,
    rng: Range,
    *,
    components: Callable[[str], Iterable[str]] | None = None,
) -> ChangeAnalysis:
    """The change analysis of a range; ``components`` maps a path to selection-graph nodes."""
    files = sorted(changed_files(repo, rng), key=lambda f: f.path)
    if components is not None:
        files = [
            f.model_copy(
                update={
                    "components": sorted(
                        {*components(f.path), *(components(f.old_path) if f.old_path else ())}
                    )
                }
            )
            for f in files
        ]
    return ChangeAnalysis(**dataclasses.asdict(rng), shallow=repo.is_shallow(), files=files)

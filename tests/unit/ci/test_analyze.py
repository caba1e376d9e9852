from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ctt.ci.analysis import ChangeAnalysis, DiffSource, FileStatus
from ctt.ci.analyze import GitRepo, analyze, resolve_range
from ctt.errors import UsageError
from tests.unit.ci._repo import Repo


def _by_path(analysis: ChangeAnalysis) -> dict[str, tuple[FileStatus, str | None]]:
    return {f.path: (f.status, f.old_path) for f in analysis.files}


def _run(
    root: Path, base: str | None = None, head: str | None = None, **env: str
) -> ChangeAnalysis:
    repo = GitRepo(root)
    return analyze(repo, resolve_range(repo, base, head, env=env))


def test_first_commit_lists_every_file_as_added(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.commit({"a.txt": "a\n", "dir/b.sql": "SELECT 1"})
    analysis = _run(tmp_path, head="HEAD")
    assert analysis.initial is True
    assert analysis.base is None
    assert _by_path(analysis) == {
        "a.txt": (FileStatus.ADDED, None),
        "dir/b.sql": (FileStatus.ADDED, None),
    }


def test_statuses_renames_binary_and_awkward_names(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    body = "".join(f"line {i}\n" for i in range(40))
    base = repo.commit(
        {"keep.txt": "x\n", "gone.txt": "bye\n", "old name.sql": body, "img.bin": b"\x00\x01"}
    )
    (tmp_path / "gone.txt").unlink()
    (tmp_path / "old name.sql").rename(tmp_path / "new näme.sql")
    repo.write({"keep.txt": "y\n", "img.bin": b"\x00\x02\x03", "spä ce/neu.txt": "n\n"})
    repo.commit()
    analysis = _run(tmp_path, base=base)
    files = _by_path(analysis)
    assert files == {
        "keep.txt": (FileStatus.MODIFIED, None),
        "gone.txt": (FileStatus.DELETED, None),
        "new näme.sql": (FileStatus.RENAMED, "old name.sql"),
        "img.bin": (FileStatus.MODIFIED, None),
        "spä ce/neu.txt": (FileStatus.ADDED, None),
    }
    binary = next(f for f in analysis.files if f.path == "img.bin")
    assert binary.binary is True and binary.additions is None
    keep = next(f for f in analysis.files if f.path == "keep.txt")
    assert (keep.additions, keep.deletions) == (1, 1)
    assert "old name.sql" in analysis.modified_files  # old paths count as touched


def test_base_uses_the_merge_base_so_target_branch_changes_are_ignored(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.commit({"shared.txt": "0\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"feature.txt": "f\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"main-only.txt": "m\n"})
    repo.git("checkout", "-q", "feature")
    analysis = _run(tmp_path, base="main")
    assert set(_by_path(analysis)) == {"feature.txt"}
    assert analysis.merge_base is True


def test_merge_commit_range_includes_both_sides(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    start = repo.commit({"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"side.txt": "s\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"main.txt": "m\n"})
    repo.git("merge", "-q", "--no-edit", "side")
    analysis = _run(tmp_path, base=start, head="HEAD")
    assert set(_by_path(analysis)) == {"side.txt", "main.txt"}


def test_gitlab_merge_request_variables(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    base = repo.commit({"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "mr")
    head = repo.commit({"b.txt": "b\n"})
    by_sha = _run(tmp_path, CI_MERGE_REQUEST_DIFF_BASE_SHA=base, CI_COMMIT_SHA=head)
    assert by_sha.source is DiffSource.MERGE_REQUEST and set(_by_path(by_sha)) == {"b.txt"}
    by_branch = _run(tmp_path, CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main", CI_COMMIT_SHA=head)
    assert by_branch.base == base and set(_by_path(by_branch)) == {"b.txt"}
    with pytest.raises(UsageError, match="target branch 'nope'"):
        _run(tmp_path, CI_MERGE_REQUEST_TARGET_BRANCH_NAME="nope", CI_COMMIT_SHA=head)


def test_gitlab_push_variables_and_new_branch(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    before = repo.commit({"a.txt": "a\n"})
    head = repo.commit({"b.txt": "b\n"})
    push = _run(tmp_path, CI_COMMIT_BEFORE_SHA=before, CI_COMMIT_SHA=head)
    assert push.source is DiffSource.PUSH and set(_by_path(push)) == {"b.txt"}
    new_branch = _run(tmp_path, CI_COMMIT_BEFORE_SHA="0" * 40, CI_COMMIT_SHA=head)
    assert set(_by_path(new_branch)) == {"b.txt"}  # falls back to the parent commit


def test_working_tree_includes_untracked_and_staged(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.commit({"a.txt": "a\n", ".gitignore": "*.log\n"})
    repo.write({"a.txt": "changed\n", "new file.txt": "n\n", "debug.log": "ignored\n"})
    analysis = _run(tmp_path)
    assert analysis.source is DiffSource.WORKING_TREE
    assert _by_path(analysis) == {
        "a.txt": (FileStatus.MODIFIED, None),
        "new file.txt": (FileStatus.ADDED, None),
    }


def test_working_tree_of_a_repository_without_commits(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.write({"x.txt": "x"})
    analysis = _run(tmp_path)
    assert _by_path(analysis) == {"x.txt": (FileStatus.ADDED, None)}


def test_shallow_clone_says_how_to_deepen(tmp_path: Path) -> None:
    origin = Repo(tmp_path / "origin")
    first = origin.commit({"a.txt": "1\n"})
    origin.commit({"a.txt": "2\n"})
    origin.commit({"a.txt": "3\n"})
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin.root}", str(clone)], check=True
    )
    repo = GitRepo(clone)
    assert repo.is_shallow()
    with pytest.raises(UsageError) as exc:
        resolve_range(repo, first, env={})
    assert "git fetch --deepen" in str(exc.value)
    with pytest.raises(UsageError, match="deepen"):  # HEAD looks like a root but is not
        resolve_range(repo, head="HEAD", env={})


def test_unknown_ref_and_not_a_repository(tmp_path: Path) -> None:
    Repo(tmp_path / "r").commit({"a": "a"})
    with pytest.raises(UsageError, match="not a commit"):
        resolve_range(GitRepo(tmp_path / "r"), "no-such-branch", env={})
    (tmp_path / "plain").mkdir()
    with pytest.raises(UsageError, match="not inside a git repository"):
        GitRepo(tmp_path / "plain")

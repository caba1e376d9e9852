"""``ctt analyze``: the document is written where asked, and config paths are read under --repo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctt.commands.analyze import analyze, under
from ctt.console import Output
from tests.unit.ci._fixture import make_repo


def test_paths_relative_to_the_repo() -> None:
    assert under(Path("/r"), Path("conf/a.yaml")) == Path("/r/conf/a.yaml")
    assert under(Path("/r"), Path("/etc/a.yaml")) == Path("/etc/a.yaml")


def test_writes_change_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "CI_COMMIT_BEFORE_SHA"):
        monkeypatch.delenv(var, raising=False)
    repo = make_repo(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    repo.commit({"terraform/modules/topics/main.tf": "# changed\n"})
    out = tmp_path / "out" / "analysis.json"
    out.parent.mkdir()
    doc = analyze(
        Output(quiet=True),
        repo=tmp_path,
        base=base,
        head=None,
        use_merge_base=True,
        output=out,
        config=Path("conf/test-selection.yaml"),
        suites=Path("conf/suites.yaml"),
        cache_dir=None,
    )
    assert json.loads(out.read_text())["modified_files"] == ["terraform/modules/topics/main.tf"]
    assert doc.paths() == {"terraform/modules/topics/main.tf"}

"""Selection inputs: gitignore-style pattern indexes, the repository's files, the lineage cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.ci.selection_inputs import PatternIndex, RepoFiles
from tests.unit.ci._fixture import make_repo


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("terraform/modules/connectors/", "terraform/modules/connectors/main.tf", True),
        ("terraform/modules/connectors/", "terraform/modules/connectors-x/main.tf", False),
        ("flink-sql/", "a/flink-sql/x.sql", True),  # no inner slash: any depth
        ("/flink-sql/", "a/flink-sql/x.sql", False),
        ("flink/sql/**/*.sql", "flink/sql/a/b/c.sql", True),
        ("flink/sql/**/*.sql", "flink/sql/c.sql", True),
        ("flink/sql/**/*.sql", "flink/sqlx/c.sql", False),
        ("*.lock", "deep/dir/uv.lock", True),
        ("specs/orders.yaml", "specs/orders.yaml", True),
        ("specs", "specs/a.yaml", True),
        ("dir with space/", "dir with space/ä.txt", True),
    ],
)
def test_pattern_index_uses_gitignore_semantics(pattern: str, path: str, hit: bool) -> None:
    index: PatternIndex[str] = PatternIndex()
    index.add(pattern, "x")
    assert (index.match(path) == ["x"]) is hit


_SEG = st.text("abcxyz-_", min_size=1, max_size=4)


@given(
    rules=st.lists(st.lists(_SEG, min_size=1, max_size=3), min_size=1, max_size=8),
    path=st.lists(_SEG, min_size=1, max_size=5),
)
def test_index_agrees_with_plain_prefix_matching(rules: list[list[str]], path: list[str]) -> None:
    index: PatternIndex[int] = PatternIndex()
    for i, rule in enumerate(rules):
        index.add("/" + "/".join(rule) + "/", i)
    file = "/".join(path)
    expected = {i for i, r in enumerate(rules) if file.startswith("/".join(r) + "/")}
    assert set(index.match(file)) == expected


def test_repo_files_under_is_a_prefix_range(tmp_path: Path) -> None:
    files = RepoFiles(tmp_path, ["a/b", "a/c/d", "ab", "a.txt", "b"])
    assert list(files.under("a")) == ["a/b", "a/c/d"]
    assert list(files.under("a/c/")) == ["a/c/d"]
    assert list(files.under("ab")) == ["ab"]
    assert "b" in files and "zz" not in files


def test_repo_files_walk_skips_hidden_directories(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x").write_text("")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("")
    assert RepoFiles.walk(tmp_path).files == ["d/f"]


def test_lineage_cache_is_reused_and_gives_the_same_graph(tmp_path: Path) -> None:
    from ctt.ci.select import load_selector
    from ctt.ci.selection import SelectionMode
    from tests.unit.ci._fixture import changes

    make_repo(tmp_path)
    conf = (tmp_path / "conf/test-selection.yaml", tmp_path / "conf/suites.yaml")
    cold = load_selector(tmp_path, *conf, cache_dir=tmp_path / ".ctt/cache")
    assert cold.ctx.cache is not None and cold.ctx.cache.hits == 0
    assert (tmp_path / ".ctt/cache/lineage.json").exists()
    warm = load_selector(tmp_path, *conf, cache_dir=tmp_path / ".ctt/cache")
    assert warm.ctx.cache is not None and warm.ctx.cache.hits > 0
    change = changes("flink/sql/transformations/enrich.sql")
    assert set(warm.select(SelectionMode.SMART, change).selected) == set(
        cold.select(SelectionMode.SMART, change).selected
    )
    (tmp_path / ".ctt/cache/lineage.json").write_text("{not json")
    assert load_selector(tmp_path, *conf, cache_dir=tmp_path / ".ctt/cache").ctx.cache is not None


_NAME = st.text("ab.-_ ä*/", min_size=1, max_size=6)


@given(
    pattern=st.builds(
        lambda lead, body, trail: lead + body + trail,
        st.sampled_from(["", "/", "*", "a/**/*", "/a b/**/", "a/**/*."]),
        _NAME,
        st.sampled_from(["", "/"]),
    ),
    path=st.lists(st.text("ab.-_ ä", min_size=1, max_size=6), min_size=1, max_size=4),
)
def test_string_tests_agree_with_pathspec_regexes(pattern: str, path: list[str]) -> None:
    """Patterns matched without a regex (plain paths, names, ``*.ext``) match as pathspec does."""
    import re

    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

    source, _include = GitIgnoreSpecPattern.pattern_to_regex(pattern)
    file = "/".join(path)
    index: PatternIndex[str] = PatternIndex()
    index.add(pattern, "x")
    expected = source is not None and re.match(source, file) is not None
    assert (index.match(file) == ["x"]) is expected
    files = RepoFiles(Path("."), [file])
    assert (index.filter(files) == [file]) is expected


def test_plain_patterns_need_no_regex() -> None:
    index: PatternIndex[int] = PatternIndex()
    patterns = ["apps/a/", "/uv.lock", "*.sql", "docs", "apps/**/*.py", "apps/*/x"]
    for i, pattern in enumerate(patterns):
        index.add(pattern, i)
    kinds = [rule.kind for rule in index._rules]
    assert kinds == ["anchored", "anchored", "suffix", "name", "under_suffix", "regex"]
    assert index._rules[5]._regex is None
    assert index.match("apps/a/x.py") == [0, 4]
    assert index.match("apps/b/x") == [5]
    assert index._rules[5]._regex is not None  # compiled on first use only


def test_a_file_changed_in_the_work_tree_is_not_read_from_the_cache(tmp_path: Path) -> None:
    """The cache is keyed by the index's blob ids: a spec edited but not staged has a new
    text under the old id, and selection must follow the text (a developer runs it locally)."""
    from ctt.ci.select import load_selector
    from ctt.ci.selection import SelectionMode
    from tests.unit.ci._fixture import changes

    make_repo(tmp_path)
    conf = (tmp_path / "conf/test-selection.yaml", tmp_path / "conf/suites.yaml")
    cache = tmp_path / ".ctt/cache"
    change = changes("flink/sql/transformations/agg.sql")  # writes `summary`
    before = load_selector(tmp_path, *conf, cache_dir=cache).select(SelectionMode.SMART, change)
    assert "other_specs" not in before.selected
    spec = tmp_path / "specs/other/other.yaml"
    spec.write_text(  # not staged: now downstream of agg.sql's topic
        spec.read_text().replace("FROM in_t", "FROM summary")
        + "    tables:\n      summary: {topic: summary}\n"
    )
    fresh = load_selector(tmp_path, *conf).select(SelectionMode.SMART, change)
    assert "other_specs" in fresh.selected  # without a cache
    (tmp_path / "conf/topics.txt").write_text("untracked\n")
    after = load_selector(tmp_path, *conf, cache_dir=cache).select(SelectionMode.SMART, change)
    assert "other_specs" in after.selected

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from ctt.config.yaml_source import load_yaml, load_yaml_cached
from ctt.errors import ConfigError

DOC = "a:\n  b: [1, 2.5, true, null]\n  c: 'x'\n"


def test_a_cached_parse_equals_a_fresh_one(tmp_path: Path) -> None:
    src = tmp_path / "c.yaml"
    src.write_text(DOC)
    cache = tmp_path / "cache"
    first = load_yaml_cached(src, cache)
    assert list(cache.glob("yaml-*.json"))  # written
    second = load_yaml_cached(src, cache)
    fresh = load_yaml(src)
    assert first[0] == second[0] == fresh[0]
    assert second[1].lines == fresh[1].lines and second[1].file == str(src)
    assert second[1].line_of(("a", "b", 1)) == 2


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    src = tmp_path / "c.yaml"
    src.write_text(DOC)
    cache = tmp_path / "cache"
    load_yaml_cached(src, cache)
    src.write_text("\n" + DOC.replace("'x'", "'y'"))
    data, smap = load_yaml_cached(src, cache)
    assert data["a"]["c"] == "y" and smap.line_of(("a", "c")) == 4


def test_errors_are_load_yamls_and_never_cached(tmp_path: Path) -> None:
    src = tmp_path / "c.yaml"
    src.write_text("a: 1\nb: 2\na: 3\n")
    cache = tmp_path / "cache"
    for _ in range(2):
        with pytest.raises(ConfigError, match="duplicate key 'a'") as exc:
            load_yaml_cached(src, cache)
        assert exc.value.line == 3
    with pytest.raises(ConfigError, match="file not found"):
        load_yaml_cached(tmp_path / "missing.yaml", cache)


def test_values_json_cannot_keep_are_not_cached(tmp_path: Path) -> None:
    src = tmp_path / "c.yaml"
    src.write_text("when: 2024-01-02\n")
    cache = tmp_path / "cache"
    assert load_yaml_cached(src, cache)[0] == {"when": datetime.date(2024, 1, 2)}
    assert not list(cache.glob("yaml-*.json"))
    assert load_yaml_cached(src, cache)[0] == {"when": datetime.date(2024, 1, 2)}


def test_a_damaged_cache_entry_is_ignored(tmp_path: Path) -> None:
    src = tmp_path / "c.yaml"
    src.write_text(DOC)
    cache = tmp_path / "cache"
    load_yaml_cached(src, cache)
    for entry in cache.glob("yaml-*.json"):
        entry.write_text("{not json")
    assert load_yaml_cached(src, cache)[0] == load_yaml(src)[0]

"""The YAML loader's source map and the wording of config errors (file:line:col, snippet, caret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctt.config import load_yaml, load_yaml_cached
from ctt.config.gates import load_gates
from ctt.config.selection import load_selection
from ctt.config.spec import load_spec
from ctt.config.suites import load_suites
from ctt.errors import ConfigError


def _error(
    tmp_path: Path, text: str, load: object = load_spec, name: str = "spec.yaml"
) -> ConfigError:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load(path)  # type: ignore[operator]
    return info.value


def test_source_map_has_lines_and_columns() -> None:
    _data, smap = load_yaml("x.yaml", "a:\n  b: [1, {c: 2}]\n")
    assert smap.position(("a", "b")) == (2, 3)
    assert smap.position(("a", "b", 1)) == (2, 10)
    assert smap.position(("a", "b", 1, "c")) == (2, 11)
    assert smap.position(("a", "b", 1, "nope")) == (2, 10)  # nearest ancestor


def test_cached_source_map_keeps_columns_and_text(tmp_path: Path) -> None:
    src = tmp_path / "c.yaml"
    src.write_text("a:\n  b: 1\n")
    load_yaml_cached(src, tmp_path / "cache")
    _data, smap = load_yaml_cached(src, tmp_path / "cache")
    assert smap.position(("a", "b")) == (2, 3)
    assert smap.error("boom", ("a", "b")).snippet == "1 | a:\n2 |   b: 1\n  |   ^"


def test_a_row_that_is_not_a_mapping(tmp_path: Path) -> None:
    err = _error(
        tmp_path,
        "flink_transformation_tests:\n  t:\n    flink_sql: x\n"
        "    tables:\n      purchases: {schema: {id: INT}}\n"
        "    test_data:\n      purchases:\n        rows:\n          - 5\n",
    )
    assert str(err) == (
        f"{tmp_path}/spec.yaml:9:13: row 1 of `purchases` must be a mapping of column to value, not 5"
    )
    assert err.snippet == (
        "7 |       purchases:\n8 |         rows:\n9 |           - 5\n  |             ^"
    )
    assert "dict[" not in str(err) and "TableData" not in str(err)


def test_a_bad_duration(tmp_path: Path) -> None:
    err = _error(
        tmp_path, "flink_transformation_tests:\n  t:\n    flink_sql: x\n    timeout: soon\n"
    )
    assert err.message == "`timeout` must be a duration like 30s, 500ms or 5m, not 'soon'"
    assert (err.line, err.col) == (4, 5)
    assert err.snippet is not None and err.snippet.endswith("4 |     timeout: soon\n  |     ^")


def test_unknown_key_names_where_and_the_nearest_key(tmp_path: Path) -> None:
    err = _error(
        tmp_path,
        "flink_transformation_tests:\n  t:\n    flink_sql: x\n"
        "    tables:\n      users: {schem: {id: INT}}\n",
    )
    assert str(err) == (
        f"{tmp_path}/spec.yaml:5:15: unknown key `schem` in table `users` (did you mean 'schema'?)"
    )


def test_enum_bound_and_missing_key_messages(tmp_path: Path) -> None:
    head = "flink_transformation_tests:\n  t:\n    flink_sql: x\n"
    err = _error(tmp_path, head + "    completion: sometimes\n")
    assert err.message == "`completion` must be one of 'bounded' or 'quiet'"
    err = _error(tmp_path, head + "    tables:\n      users: {schema: {id: INT}, partitions: 0}\n")
    assert err.message == "`partitions` must be at least 1" and (err.line, err.col) == (5, 34)
    err = _error(tmp_path, head + "    tables:\n      users: {key: id}\n")
    assert err.message == "`schema` is required in table `users`" and err.line == 5


def test_model_validator_errors_name_the_test(tmp_path: Path) -> None:
    err = _error(tmp_path, "flink_transformation_tests:\n  t:\n    tables: {}\n")
    assert err.message == "test `t`: give exactly one of flink_sql, sql_template or table_api"
    assert (err.line, err.col) == (2, 3)


def test_syntax_error_has_line_column_and_caret(tmp_path: Path) -> None:
    err = _error(tmp_path, "flink_transformation_tests:\n  t:\n    flink_sql: [x\n")
    assert err.message.startswith("invalid YAML: ") and (err.line, err.col) == (3, 18)
    assert err.snippet is not None and err.snippet.endswith("  |                  ^")


def test_duplicate_key_points_at_the_second(tmp_path: Path) -> None:
    err = _error(tmp_path, "flink_transformation_tests:\n  t: {}\n  t: {}\n")
    assert str(err) == f"{tmp_path}/spec.yaml:3:3: duplicate key 't' (keep one)"


def test_misspelt_top_level_key(tmp_path: Path) -> None:
    err = _error(tmp_path, "flink_transformation_test:\n  t: {}\n")
    assert (err.line, err.col) == (1, 1)
    assert err.hint == "rename 'flink_transformation_test' to 'flink_transformation_tests'"


def test_suites_selection_and_gates_errors_point_into_their_files(tmp_path: Path) -> None:
    err = _error(
        tmp_path,
        "suites:\n  a: {kind: flink, path: specs/, timeout: forever}\n",
        load_suites,
        "suites.yaml",
    )
    assert err.message == "`timeout` must be a duration like 30s, 500ms or 5m, not 'forever'"
    assert (err.line, err.col) == (2, 34) and err.snippet
    err = _error(
        tmp_path,
        "test_selection:\n  change_detection:\n    unmaped: warn\n",
        load_selection,
        "sel.yaml",
    )
    assert err.message == "unknown key `unmaped` in `change_detection`"
    assert err.hint == "did you mean 'unmapped'?" and (err.line, err.col) == (3, 5)
    err = _error(tmp_path, "quality_gates:\n  min_pass_rate: lots\n", load_gates, "gates.yaml")
    assert err.line == 2 and err.col == 3 and err.snippet and "min_pass_rate" in err.message


def test_unknown_suite_in_selection_has_a_caret(tmp_path: Path) -> None:
    path = tmp_path / "sel.yaml"
    path.write_text("test_selection:\n  always_run: [unit, nope]\n")
    with pytest.raises(ConfigError) as info:
        load_selection(path).check_suite_names(["unit"])
    assert (info.value.line, info.value.col) == (2, 22)
    assert (
        info.value.snippet
        == "1 | test_selection:\n2 |   always_run: [unit, nope]\n  |                      ^"
    )


def test_alias_cycles_and_alias_bombs_are_config_errors(tmp_path: Path) -> None:
    err = _error(tmp_path, "a: &a [1, *a]\n")
    assert err.message == "an alias refers to a value that contains it"
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, n in zip("abcdef", "bcdefg", strict=True)
    )
    assert "too many values" in _error(tmp_path, bomb).message


def test_a_value_yaml_cannot_build_is_a_config_error(tmp_path: Path) -> None:
    err = _error(tmp_path, "flink_transformation_tests:\n  t:\n    description: 2024-13-45\n")
    assert err.message.startswith("cannot read this value") and (err.line, err.col) == (3, 18)


def test_the_public_surface_is_the_loader_and_nothing_imports_a_private_module() -> None:
    import ctt.config

    assert set(ctt.config.__all__) == {
        "Loc",
        "SourceMap",
        "load_yaml",
        "load_yaml_cached",
        "parse_model",
        "suggest",
    }
    root = Path(__file__).resolve().parents[3] / "ctt"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "ctt.config._" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []

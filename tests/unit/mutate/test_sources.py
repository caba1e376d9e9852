"""Mutants land where the user wrote the text: block scalars, anchors, templates, quoted scalars."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ctt.errors import ConfigError
from ctt.mutate.sources import enumerate_mutants, load_sources
from ctt.mutate.workspace import Layout, Workspace

TABLES = """\
    tables:
      orders:
        schema: {user_id: BIGINT, amount: INT, ts: TIMESTAMP(3)}
        watermark: "ts - INTERVAL '5' SECOND"
    test_data:
      orders:
        rows: [{user_id: 1, amount: 3, ts: "2026-01-01 10:00:00"}]
    expected:
      out: {rows: [{user_id: 1, total: 3}]}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_at(path: Path, line: int, col: int) -> str:
    return path.read_text(encoding="utf-8").splitlines()[line - 1][col - 1 :]


def test_anchor_is_mutated_once_where_it_is_written(repo: Path) -> None:
    spec = write(
        repo / "specs" / "a.yaml",
        "x-sql: &sql |\n"
        "  CREATE TABLE out AS\n"
        "  SELECT user_id, SUM(amount) AS total FROM orders GROUP BY user_id;\n"
        "flink_transformation_tests:\n"
        "  one:\n    flink_sql: *sql\n" + TABLES + "  two:\n    flink_sql: *sql\n" + TABLES,
    )
    ms = enumerate_mutants(load_sources(spec), ["aggregate_swap"])
    assert len(ms) == 1
    (m,) = ms
    assert (m.file, m.line, m.col) == ("specs/a.yaml", 3, 19)
    assert line_at(spec, m.line, m.col).startswith("SUM(amount)")
    assert m.tests == ["one", "two"]
    data = yaml.safe_load(m.text)
    assert "MAX(amount)" in data["flink_transformation_tests"]["two"]["flink_sql"]


def test_multi_line_edit_in_a_block_keeps_the_indentation(repo: Path) -> None:
    spec = write(
        repo / "s.yaml",
        "flink_transformation_tests:\n  t:\n    flink_sql: |\n"
        "      CREATE TABLE out AS\n"
        "      SELECT\n        user_id,\n        SUM(amount) AS total\n"
        "      FROM orders\n      GROUP BY user_id;\n" + TABLES,
    )
    (m,) = enumerate_mutants(load_sources(spec), ["group_by_column"])
    sql = yaml.safe_load(m.text)["flink_transformation_tests"]["t"]["flink_sql"]
    assert sql == "CREATE TABLE out AS\nSELECT\n  SUM(amount) AS total\nFROM orders;\n"
    assert (m.line, m.col) == (9, 16)


def test_quoted_single_line_sql_maps_positions(repo: Path) -> None:
    sql = "CREATE TABLE out AS SELECT user_id, amount AS total FROM orders WHERE amount > 2"
    spec = write(
        repo / "q.yaml", f'flink_transformation_tests:\n  t:\n    flink_sql: "{sql}"\n' + TABLES
    )
    ms = enumerate_mutants(load_sources(spec), ["comparison"])
    (m,) = ms
    assert line_at(spec, m.line, m.col).startswith('> 2"')


def test_folded_scalar_is_noted_not_guessed(repo: Path) -> None:
    spec = write(
        repo / "f.yaml",
        "flink_transformation_tests:\n  t:\n    flink_sql: >\n"
        "      CREATE TABLE out AS SELECT user_id, amount AS total\n"
        "      FROM orders WHERE amount > 2\n" + TABLES,
    )
    sources = load_sources(spec)
    assert enumerate_mutants(sources, ["comparison"]) == []
    assert any("cannot map positions" in n for n in sources.notes)


def test_template_mutants_are_in_the_template_and_the_copy_resolves_it(repo: Path) -> None:
    write(
        repo / "flink" / "sql" / "transformations" / "totals.sql",
        "CREATE TABLE out AS\nSELECT user_id, SUM(amount) AS total\nFROM {{ source }}\nGROUP BY user_id;\n",
    )
    spec = write(
        repo / "specs" / "nested" / "t.yaml",
        "flink_transformation_tests:\n  t:\n    sql_template: transformations/totals.sql\n"
        "    params: {source: orders}\n" + TABLES,
    )
    write(repo / "specs" / "nested" / "__snapshots__" / "t.json", "{}")
    (m,) = enumerate_mutants(load_sources(spec), ["aggregate_swap"])
    assert (m.file, m.line, m.col) == ("flink/sql/transformations/totals.sql", 2, 17)
    ws = Workspace(Layout.of(spec), m)
    try:
        assert ws.spec == ws.dir / "specs" / "nested" / "t.yaml"
        assert (ws.spec.parent / "__snapshots__" / "t.json").is_file()
        copied = (ws.dir / "flink" / "sql" / "transformations" / "totals.sql").read_text()
        assert "MAX(amount)" in copied
        assert spec.read_text(encoding="utf-8") == ws.spec.read_text(encoding="utf-8")
    finally:
        ws.remove()
    assert "SUM(amount)" in (repo / "flink/sql/transformations/totals.sql").read_text()


def test_workspace_writes_the_mutated_spec_and_never_the_users(repo: Path) -> None:
    spec = write(
        repo / "specs" / "w.yaml",
        "flink_transformation_tests:\n  t:\n    flink_sql: |\n"
        "      CREATE TABLE out AS SELECT user_id, amount AS total FROM orders;\n" + TABLES,
    )
    (m, _zero) = enumerate_mutants(load_sources(spec), ["watermark_delay"])
    original = spec.read_text(encoding="utf-8")
    ws = Workspace(Layout.of(spec), m)
    try:
        assert "INTERVAL '10' SECOND" in ws.spec.read_text(encoding="utf-8")
    finally:
        ws.remove()
    assert spec.read_text(encoding="utf-8") == original


def test_select_and_skip_limit_the_sources(repo: Path) -> None:
    body = (
        "    flink_sql: |\n      CREATE TABLE out AS SELECT user_id FROM orders WHERE amount > 1;\n"
        + TABLES
    )
    spec = write(
        repo / "k.yaml",
        "flink_transformation_tests:\n  alpha:\n"
        + body
        + "  beta:\n"
        + body
        + "  gamma:\n    skip: not today\n"
        + body,
    )
    assert [lt.test.name for lt in load_sources(spec).tests] == ["alpha", "beta"]
    sources = load_sources(spec, "beta")
    ms = enumerate_mutants(sources, ["comparison"])
    assert [m.tests for m in ms] == [["beta"]]


def test_not_a_spec_is_a_config_error(repo: Path) -> None:
    spec = write(repo / "n.yaml", "hello: world\n")
    with pytest.raises(ConfigError):
        load_sources(spec)


def test_the_copy_holds_the_assertion_query_files_the_spec_names(repo: Path) -> None:
    """`sql_assertions: [{file: ...}]` beside the spec and in the repository resolve in the copy."""
    write(repo / "specs" / "q" / "queries" / "beside.sql", "SELECT * FROM out WHERE total < 0;\n")
    write(repo / "checks" / "repo.sql", "SELECT * FROM out WHERE user_id IS NULL;\n")
    spec = write(
        repo / "specs" / "q" / "t.yaml",
        "flink_transformation_tests:\n  t:\n    flink_sql: |\n"
        "      CREATE TABLE out AS SELECT user_id, amount AS total FROM orders;\n"
        "    validation:\n      - sql_assertions:\n          - file: queries/beside.sql\n"
        "          - file: checks/repo.sql\n" + TABLES,
    )
    (m, _zero) = enumerate_mutants(load_sources(spec), ["watermark_delay"])
    ws = Workspace(Layout.of(spec), m)
    try:
        assert (ws.dir / "specs" / "q" / "queries" / "beside.sql").is_file()
        assert (ws.dir / "checks" / "repo.sql").is_file()
    finally:
        ws.remove()

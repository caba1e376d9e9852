"""The lenient spec scanner: what selection reads of a spec, and the rules it shares with the runner."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from ctt.config.spec import load_spec
from ctt.config.spec_scan import kafka_key, resolve_template, scan_data, scan_spec, template_name
from ctt.sql.render import render_template

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("transformations/agg.sql", "transformations/agg.sql"),
        ("flink/sql/transformations/agg.sql", "transformations/agg.sql"),
        ("/flink/sql/transformations/agg.sql", "transformations/agg.sql"),
        ("./transformations//agg.sql", "transformations/agg.sql"),
        ("transformations\\agg.sql", "transformations/agg.sql"),
    ],
)
def test_template_names_are_relative_to_flink_sql(written: str, name: str) -> None:
    assert template_name(written) == name


def test_nearest_flink_sql_directory_wins(tmp_path: Path) -> None:
    for d in ("flink/sql", "apps/a/flink/sql", "apps/a/specs", "apps/b/specs"):
        (tmp_path / d).mkdir(parents=True)
    found = resolve_template("x.sql", tmp_path / "apps/a/specs", Path.is_dir)
    assert found is not None and found.path == tmp_path / "apps/a/flink/sql/x.sql"
    found = resolve_template("x.sql", tmp_path / "apps/b/specs", Path.is_dir)
    assert found is not None and found.path == tmp_path / "flink/sql/x.sql"
    # the same rule over a repository's file listing, as selection uses it
    listed = {"flink/sql", "flink", "apps/a/flink/sql"}
    rel = resolve_template("x.sql", PurePosixPath("apps/b/specs"), lambda p: str(p) in listed)
    assert rel is not None and str(rel.path) == "flink/sql/x.sql"
    assert resolve_template("x.sql", PurePosixPath("specs"), lambda p: False) is None


def test_runner_and_scanner_agree_on_every_shipped_template() -> None:
    for spec in sorted((ROOT / "specs").rglob("*.yaml")):
        for lt in load_spec(spec):
            if lt.test.sql_template is None:
                continue
            (scanned,) = [t for t in scan_spec(spec).tests if t.name == lt.test.name]
            found = scanned.template(spec.parent.resolve(), Path.is_dir)
            _sql, rendered = render_template(
                lt.test.sql_template, lt.test.params, spec_dir=spec.parent
            )
            assert found is not None and found.path == rendered == lt.template().path  # type: ignore[union-attr]
            assert rendered.is_file()


def test_kafka_key_is_the_primary_key_of_an_upsert_table() -> None:
    assert kafka_key(["id"], ["other"]) == ["id"]
    assert kafka_key([], ["user_id"]) == ["user_id"]
    assert kafka_key([], []) == []


def test_table_key_columns_match_the_scanner(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "flink_transformation_tests:\n  t:\n    flink_sql: x\n    tables:\n"
        "      a: {schema: {id: INT, k: INT}, primary_key: id, key: k}\n"
        "      b: {schema: {id: INT, k: INT}, key: [k], topic: bee}\n"
    )
    (lt,) = load_spec(spec)
    (test,) = scan_spec(spec).tests
    strict = {n: t.key_columns() for n, t in lt.test.tables.items()}
    assert strict == {t.name: t.key_columns for t in test.tables} == {"a": ["id"], "b": ["k"]}
    assert test.topics == {"b": "bee"}


def test_a_spec_that_does_not_validate_is_still_read() -> None:
    data = {
        "flink_transformation_tests": {
            "t": {
                "sql_template": "transformations/x.sql",
                "params": {"src": "a"},
                "timeout": "soon",
                "tabels": {},
                "tables": {"A": {"topic": "ay", "schema": "not a mapping"}, "b": "junk"},
            },
            "not_a_test": [1, 2],
        }
    }
    (test,) = scan_data(data)
    assert test.name == "t" and test.sql_template == "transformations/x.sql"
    assert test.params == {"src": "a"} and test.topics == {"a": "ay"}
    assert [t.name for t in test.tables] == ["A", "b"]


def test_without_the_tests_map_any_mapping_with_sql_counts() -> None:
    tests = scan_data({"flink_transformation_test": {"t": {"flink_sql": "SELECT 1"}}, "x": 1})
    assert [(t.name, t.flink_sql) for t in tests] == [("t", "SELECT 1")]
    assert scan_data("just text") == [] and scan_data(None) == []


def test_broken_yaml_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("a: [unclosed\n")
    scan = scan_spec(spec)
    assert (
        scan.tests == []
        and scan.problem is not None
        and "s.yaml:1:13: invalid YAML" in scan.problem
    )

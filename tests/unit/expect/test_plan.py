"""Which expectations apply to a test, and the warning when only the oracle does (no JVM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctt.config.spec import LoadedTest
from ctt.errors import ConfigError
from ctt.expect import Kind, Policy, oracle_only_warning, plan
from ctt.expect.snapshot import Mode
from ctt.validate.registry import load_spec

SPEC = """\
flink_transformation_tests:
  generated:
    flink_sql: CREATE TABLE o AS SELECT user_id, COUNT(*) AS n FROM e GROUP BY user_id;
    tables:
      e: {schema: {user_id: BIGINT, ts: TIMESTAMP(3)}}
    test_data:
      e: {generate: {count: 10}}
    validation:
      - rows_match: true
{extra}
"""


def load(tmp_path: Path, extra: str = "") -> LoadedTest:
    path = tmp_path / "s.yaml"
    path.write_text(SPEC.replace("{extra}", extra))
    (lt,) = load_spec(path)
    return lt


def test_oracle_only_warns_with_the_command(tmp_path: Path) -> None:
    lt = load(tmp_path)
    p = plan(lt, ["o"], Policy(), exists=lambda _p: False)
    assert p.kinds == {"o": [Kind.ORACLE]} and p.snapshot is None and not p.validations
    assert p.warnings == [oracle_only_warning("generated", f"ctt run {lt.file} --update-snapshots")]
    assert "it proves the engine, not the SQL" in p.warnings[0]


def test_an_existing_snapshot_applies_and_silences_the_warning(tmp_path: Path) -> None:
    lt = load(tmp_path)
    p = plan(lt, ["o"], Policy(), exists=lambda _p: True)
    assert p.kinds == {"o": [Kind.ORACLE, Kind.SNAPSHOT]} and not p.warnings
    assert p.validations == [{"snapshot_match": True}]
    assert p.snapshot is not None and not p.snapshot.update
    assert p.snapshot.path == tmp_path / "__snapshots__" / "s" / "generated.snap"


def test_update_mode_records_for_generated_data_but_never_in_ci(tmp_path: Path) -> None:
    lt = load(tmp_path)
    p = plan(lt, ["o"], Policy(mode=Mode.UPDATE), exists=lambda _p: False)
    assert p.snapshot is not None and p.snapshot.update and not p.snapshot.ci
    ci = plan(lt, ["o"], Policy(ci=True), exists=lambda _p: False)
    assert ci.snapshot is None and ci.warnings


def test_snapshot_false_and_true(tmp_path: Path) -> None:
    off = load(tmp_path, "    snapshot: false")
    assert plan(off, ["o"], Policy(mode=Mode.UPDATE), exists=lambda _p: True).snapshot is None
    on = load(tmp_path, "    snapshot: true")
    p = plan(on, ["o"], Policy(), exists=lambda _p: False)
    assert p.snapshot is not None and p.validations == [{"snapshot_match": True}]


def test_assertions_count_as_an_independent_expectation(tmp_path: Path) -> None:
    lt = load(tmp_path, "      - unique: [user_id]")
    p = plan(lt, ["o"], Policy(), exists=lambda _p: False)
    assert p.assertions == ["unique"] and not p.warnings
    assert p.spec.lines["unique"] == 10


def test_explicit_rows_and_reference_sql(tmp_path: Path) -> None:
    lt = load(tmp_path, "    expected:\n      o: {rows: [{user_id: 1, n: 1}]}")
    assert plan(lt, ["o"], exists=lambda _p: False).kinds == {"o": [Kind.ROWS]}
    lt = load(tmp_path, "    expected:\n      o: {reference_sql: SELECT 1}")
    p = plan(lt, ["o"], exists=lambda _p: False)
    assert p.kinds == {"o": [Kind.REFERENCE_SQL]} and not p.warnings


def test_assertion_config_errors_point_at_the_spec_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, "      - unique: {columns: [a], tabel: o}")
    assert exc.value.location == f"{tmp_path / 's.yaml'}:10:9"
    assert "unknown parameter" in exc.value.message
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, "      - sql_assertions: [SELEC 1 FROM]")
    assert exc.value.location == f"{tmp_path / 's.yaml'}:10:9"

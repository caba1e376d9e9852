"""Table API specs without a JVM: the spec form, and what happens when PyFlink is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ctt.config.spec import load_spec
from ctt.errors import ConfigError, ExitCode, InfraError, exit_code_for
from ctt.lint import lint
from ctt.tableapi import program_sql

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "specs" / "table_api" / "user_programs.yaml"


def test_shipped_spec_names_its_programs() -> None:
    tests = {lt.test.name: lt.test for lt in load_spec(SHIPPED)}
    prog = tests["table_api_hourly_activity"].table_api
    assert prog is not None and prog.function == "hourly_activity"
    assert prog.output == "user_activity_summary"
    assert (SHIPPED.parent / prog.program).is_file()


def test_table_api_excludes_flink_sql(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "flink_transformation_tests:\n  t:\n    flink_sql: SELECT 1\n"
        "    table_api: {program: p.py, output: o}\n"
    )
    with pytest.raises(ConfigError, match="exactly one of flink_sql, sql_template or table_api"):
        load_spec(spec)


def test_without_pyflink_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyflink.table", None)  # as on an install without the extra
    (lt,) = [t for t in load_spec(SHIPPED) if t.test.name == "table_api_classify_users"]
    with pytest.raises(InfraError, match="needs PyFlink") as exc:
        program_sql(lt.test, lt.file, lt.source_map)
    assert "--extra table-api" in (exc.value.hint or "")
    assert exit_code_for(exc.value) is ExitCode.INFRA


def test_lint_skips_programs_it_cannot_read_as_sql() -> None:
    report = lint([SHIPPED])
    assert report.files == [str(SHIPPED)] and report.units == 0 and not report.findings


def test_a_mutant_workspace_copies_the_program_beside_the_spec() -> None:
    from ctt.mutate.workspace import Layout, Workspace

    ws = Workspace(Layout.of(SHIPPED), None)
    try:
        copied = ws.spec.parent / "programs" / "user_programs.py"
        assert copied.read_text() == (SHIPPED.parent / "programs" / "user_programs.py").read_text()
    finally:
        ws.remove()

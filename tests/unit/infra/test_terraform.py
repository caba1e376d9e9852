"""The terraform wrapper against the real binary, on the provider-free statement-sql module.

Each test copies the modules into a temporary tree (terraform writes ``.terraform/``
and state beside the configuration), so the repository stays clean.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ctt.infra.terraform import Terraform, TerraformError

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of flink/modules/{statement-sql,flink-job/flink-sql} and terraform/{main.tf,tests/flink}."""
    shutil.copytree(REPO / "flink/modules/statement-sql", tmp_path / "flink/modules/statement-sql")
    shutil.copytree(
        REPO / "flink/modules/flink-job/flink-sql", tmp_path / "flink/modules/flink-job/flink-sql"
    )
    (tmp_path / "terraform").mkdir()
    shutil.copy(REPO / "terraform/main.tf", tmp_path / "terraform/main.tf")
    shutil.copytree(REPO / "terraform/tests/flink", tmp_path / "terraform/tests/flink")
    return tmp_path


def _root(tree: Path, name: str = "ctt-r1-user-transformation") -> Path:
    root = tree / "root"
    root.mkdir()
    (root / "main.tf").write_text(
        'variable "statement_name" { type = string }\n'
        'module "sql" {\n'
        '  source         = "../flink/modules/statement-sql"\n'
        "  statement_name = var.statement_name\n"
        '  sql_template   = "../flink/modules/flink-job/flink-sql/user-transformation.sql"\n'
        '  template_vars  = { source_topic = "src", target_topic = "dst" }\n'
        '  environment_id = "env-abc"\n'
        '  cluster_id     = "lkc-abc"\n'
        "}\n"
        'output "statement" { value = module.sql.statement }\n'
        'output "properties" { value = module.sql.properties }\n'
    )
    return root


def test_version_is_read_from_json(tree: Path) -> None:
    assert Terraform(tree).version().startswith("1.")


def test_init_validate_plan_apply_output_destroy(tree: Path) -> None:
    tf = Terraform(_root(tree))
    tf.init()
    assert tf.validate() == []
    variables = {"statement_name": "ctt-r1-user-transformation"}
    assert tf.plan(variables=variables).add == 0  # outputs only, no resources
    tf.apply(variables=variables)
    outputs = tf.output()
    assert "FROM `src`" in outputs["statement"].value
    assert outputs["properties"].value == {
        "sql.current-catalog": "env-abc",
        "sql.current-database": "lkc-abc",
    }
    tf.destroy(variables=variables)
    assert tf.output() == {}


def test_invalid_variable_is_one_line_with_the_modules_message(tree: Path) -> None:
    tf = Terraform(_root(tree))
    tf.init()
    with pytest.raises(TerraformError) as info:
        tf.plan(variables={"statement_name": "Not_Valid"})
    text = str(info.value)
    assert "statement_name must match" in text
    assert "\n" not in text
    assert info.value.diagnostics and info.value.diagnostics[0].file is not None


def test_validate_reports_file_and_line(tree: Path) -> None:
    broken = tree / "broken"
    broken.mkdir()
    (broken / "main.tf").write_text('output "x" {\n  value = undefined_thing.y\n}\n')
    tf = Terraform(broken)
    tf.init()
    with pytest.raises(TerraformError, match=r"main\.tf:2: Reference to undeclared resource"):
        tf.validate()


def test_terraform_test_summary_of_the_shipped_suite(tree: Path) -> None:
    tf = Terraform(tree / "terraform")
    tf.init(test_directory="tests/flink")
    summary = tf.test(test_directory="tests/flink")
    assert summary.ok
    assert (summary.passed, summary.failed) == (11, 0)
    assert {r.run for r in summary.runs} >= {"seed_proctime_is_refused", "window_tvf_passes"}


def test_terraform_test_failure_is_a_result_with_diagnostics(tree: Path) -> None:
    (tree / "terraform/tests/flink/broken.tftest.hcl").write_text(
        'run "wrong_expectation" {\n'
        "  command = plan\n"
        '  module { source = "../flink/modules/statement-sql" }\n'
        "  variables {\n"
        '    statement_name = "ok-name"\n'
        '    sql_template   = "tests/flink/sql/windowed-tvf.sql"\n'
        '    environment_id = "env-a"\n'
        '    cluster_id     = "lkc-a"\n'
        '    template_vars  = { source_topic = "s", target_topic = "t" }\n'
        "  }\n"
        "  assert {\n"
        '    condition     = output.statement_name == "other"\n'
        '    error_message = "deliberately wrong"\n'
        "  }\n"
        "}\n"
    )
    tf = Terraform(tree / "terraform")
    tf.init(test_directory="tests/flink")
    summary = tf.test(test_directory="tests/flink")
    assert not summary.ok and summary.failed == 1
    failed = [r for r in summary.runs if r.status == "fail"]
    assert [r.run for r in failed] == ["wrong_expectation"]
    assert "deliberately wrong" in str(failed[0].diagnostics[0])


def test_missing_binary_is_an_infra_error(tmp_path: Path) -> None:
    with pytest.raises(TerraformError, match="terraform not found") as info:
        Terraform(tmp_path, binary="terraform-does-not-exist")
    assert info.value.exit_code == 3

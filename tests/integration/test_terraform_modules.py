"""Every shipped Terraform test suite on the real terraform binary, offline.

``terraform init`` + ``terraform test`` in each module's provider-free ``spec/``
(the directories the suite catalogue's terraform suites name) and in
``terraform/tests/flink``, on a copy of the tree so the repository stays clean;
each run block must have run and passed. The catalogue's four terraform suites
also run through ``ctt run --suite``, as CI runs them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ctt.infra.terraform import Terraform
from tests.conftest import needs_terraform

REPO = Path(__file__).resolve().parents[2]
SUITES = REPO / "continuous-testing/config/suites.yaml"
SPEC_DIRS = [
    f"terraform/modules/{m}/spec" for m in ("flink-testing", "topics", "connectors", "rbac")
]
TERRAFORM_SUITES = ["streaming_tests", "topic_tests", "connector_tests", "rbac_tests"]

pytestmark = [
    pytest.mark.integration,
    needs_terraform,
]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of terraform/, flink/ and the suite catalogue, without local terraform state."""
    ignore = shutil.ignore_patterns(".terraform", "terraform.tfstate*", ".terraform.lock.hcl")
    for part in ("terraform", "flink"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=ignore)
    (tmp_path / "continuous-testing/config").mkdir(parents=True)
    shutil.copy(SUITES, tmp_path / "continuous-testing/config/suites.yaml")
    return tmp_path


def _run_blocks(test_dir: Path) -> int:
    return sum(
        len(re.findall(r'^run\s+"', f.read_text(), re.M)) for f in test_dir.glob("*.tftest.hcl")
    )


@pytest.mark.parametrize("module", SPEC_DIRS)
def test_module_spec_tests_pass_offline(tree: Path, module: str) -> None:
    tf = Terraform(tree / module)
    tf.init()  # no provider to install: works with no registry
    summary = tf.test()
    expected = _run_blocks(tree / module / "tests")
    assert expected >= 7
    assert summary.ok, [(r.run, r.status, [str(d) for d in r.diagnostics]) for r in summary.runs]
    assert (summary.passed, summary.failed, summary.errored) == (expected, 0, 0)


def test_provider_free_flink_tests_pass(tree: Path) -> None:
    tf = Terraform(tree / "terraform")
    tf.init(test_directory="tests/flink")
    summary = tf.test(test_directory="tests/flink")
    assert summary.ok
    assert summary.passed == _run_blocks(tree / "terraform/tests/flink") > 0


def test_spec_modules_declare_no_provider() -> None:
    """Why init works offline: neither a spec nor a module it uses needs a provider."""
    for module in SPEC_DIRS:
        for tf_file in (REPO / module).glob("*.tf"):
            assert "required_providers" not in tf_file.read_text(), tf_file
            assert not re.search(r'^resource\s+"confluent_', tf_file.read_text(), re.M), tf_file


def test_terraform_fmt_is_clean() -> None:
    for part in ("terraform", "flink"):
        proc = subprocess.run(
            ["terraform", "fmt", "-check", "-recursive", "-no-color", part],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, f"terraform fmt would change: {proc.stdout}"


def test_catalogue_terraform_suites_point_at_tested_dirs() -> None:
    suites = yaml.safe_load(SUITES.read_text())["suites"]
    for name in TERRAFORM_SUITES:
        suite = suites[name]
        assert suite["kind"] == "terraform"
        assert list((REPO / suite["path"] / "tests").glob("*.tftest.hcl")), name


@pytest.mark.parametrize("suite", TERRAFORM_SUITES)
def test_catalogue_suite_runs_green_through_ctt(tree: Path, suite: str) -> None:
    results = tree / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "ctt", "run", "--suite", suite, "--results-dir", str(results)],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    junit = (results / f"junit-{suite}.xml").read_text()
    assert re.search(r'tests="([1-9]\d*)"', junit), junit[:500]
    assert 'failures="0"' in junit and 'errors="0"' in junit, junit[:500]
    data = json.loads((results / f"results-{suite}.json").read_text())
    assert data, "results written"

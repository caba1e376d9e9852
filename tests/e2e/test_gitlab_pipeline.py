"""The GitLab pipeline (.gitlab-ci.yml + the generated child pipeline) run with gitlab-ci-local.

Each test copies the project's tracked files (the working tree's versions) into a fresh git
repository, commits, makes a second commit that changes one Flink SQL template, and runs the
whole pipeline in gitlab-ci-local's shell executor: analyze-changes -> select-tests ->
execute-tests (the dynamic child pipeline: one job per selected suite, aggregate-results,
quality-gates). The catalogue is the shipped one (continuous-testing/config/suites.yaml):
the Flink suite runs every spec on the running local stack (the default state dir, or
CTT_STATE_DIR), `all_unit_tests` runs the unit tests.

gitlab-ci-local does not implement `strategy: depend` (the trigger job passes even when the
child fails), so verdicts are read from its per-job summary lines.

The full-mode test (every shipped suite) runs only with CTT_E2E_FULL_PIPELINE=1: it runs the
integration suite (which restarts Kafka: give it a stack of its own with CTT_STATE_DIR) and the
terraform suites. Inside that pipeline the e2e suite runs this file again; the variable
CTT_E2E_NESTED stops it from starting pipelines within pipelines.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        bool(os.environ.get("CTT_E2E_NESTED")), reason="already inside a pipeline this test runs"
    ),
]

ROOT = Path(__file__).resolve().parents[2]
GCL_VERSION_NODE20 = "4.73.0"  # the last gitlab-ci-local that runs on Node.js 20
TEMPLATE = "flink/sql/transformations/event-aggregation.sql"
PIPELINE_TIMEOUT_S = 3600  # real suites: every spec on the stack, the unit tests
BREAK = ("COUNT(*)", "COUNT(*) + 1")  # a wrong aggregate: the template's specs must fail


def _gitlab_ci_local() -> str:
    """gitlab-ci-local on PATH, installed with npm when missing; skip when that is impossible."""
    found = shutil.which("gitlab-ci-local")
    if found is None and shutil.which("npm") and shutil.which("node"):
        major = subprocess.run(
            ["node", "-p", "process.versions.node.split('.')[0]"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        spec = (
            "gitlab-ci-local"
            if major.isdigit() and int(major) >= 22
            else (f"gitlab-ci-local@{GCL_VERSION_NODE20}")
        )
        subprocess.run(["npm", "install", "-g", spec], capture_output=True, check=False)
        found = shutil.which("gitlab-ci-local")
    if found is None:
        pytest.skip(
            "gitlab-ci-local cannot be installed (needs npm; scripts/install-system-deps.sh)"
        )
    if shutil.which("rsync") is None:
        pytest.skip("gitlab-ci-local needs rsync (scripts/install-system-deps.sh installs it)")
    return found


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "e2e",
        "GIT_AUTHOR_EMAIL": "e2e@example.com",
        "GIT_COMMITTER_NAME": "e2e",
        "GIT_COMMITTER_EMAIL": "e2e@example.com",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's tracked files (as in the working tree), one commit."""
    repo = tmp_path_factory.mktemp("pipeline") / "base"
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    return repo


def _change_template(base: Path, dest: Path, edit: tuple[str, str] | None) -> tuple[Path, str]:
    """A copy of the base repository with a second commit that edits one Flink SQL template.

    ``edit`` None adds a comment (the SQL means the same); else it replaces text in the SQL.
    """
    shutil.copytree(base, dest, symlinks=True)
    path = dest / TEMPLATE
    text = path.read_text()
    if edit is None:
        text = f"-- e2e: a reviewer's comment\n{text}"
    else:
        assert edit[0] in text, f"{TEMPLATE} no longer holds {edit[0]!r}"
        text = text.replace(edit[0], edit[1], 1)
    path.write_text(text)
    _git(dest, "commit", "-q", "-am", f"edit {TEMPLATE}")
    return dest, _git(dest, "rev-parse", "HEAD~1")


def _catalogue(repo: Path) -> list[str]:
    doc = yaml.safe_load((repo / "continuous-testing/config/suites.yaml").read_text())
    return list(doc["suites"])


@dataclass
class PipelineRun:
    repo: Path
    returncode: int
    log: str
    verdicts: dict[str, str]  # job -> PASS / FAIL (child jobs too)
    started: list[str]  # jobs in the order they started

    def artifact(self, job: str, name: str) -> Path:
        return self.repo / ".gitlab-ci-local/artifacts" / job.replace(":", "Og") / name


_SUMMARY = re.compile(r"^\s*(PASS|FAIL)\s+(?:\[[^\]]+\] -> )?(\S+)")
_START = re.compile(r"^\s*(?:\[[^\]]+\] -> )?(\S+)\s+starting shell")


def _run_pipeline(repo: Path, variables: dict[str, str]) -> PipelineRun:
    exe = _gitlab_ci_local()
    cmd = [exe, "--shell-isolation", "--no-artifacts-to-source", "--no-color"]
    for key, value in variables.items():
        cmd += ["--variable", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GCL", "CI_", "GITLAB"))}
    # The jobs run `uv sync` in their build directories: share this machine's uv cache.
    uv_cache = subprocess.run(["uv", "cache", "dir"], capture_output=True, text=True, check=True)
    env["UV_CACHE_DIR"] = uv_cache.stdout.strip()
    env.pop("VIRTUAL_ENV", None)
    env["CTT_E2E_NESTED"] = "1"  # the e2e suite inside this pipeline must not start another
    env.setdefault("CTT_CACHE_DIR", str(_artifact_cache()))  # the stack's jars, fetched once
    done = subprocess.run(
        cmd,
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=PIPELINE_TIMEOUT_S,
        check=False,
    )
    log = done.stdout + done.stderr
    verdicts: dict[str, str] = {}
    started: list[str] = []
    for line in log.splitlines():
        if m := _SUMMARY.match(line):
            verdicts[m.group(2)] = m.group(1)
        elif m := _START.match(line):
            started.append(m.group(1))
    return PipelineRun(repo, done.returncode, log, verdicts, started)


def _artifact_cache() -> Path:
    from ctt.stack.paths import cache_dir

    return cache_dir()


def _assert_order(run: PipelineRun, *jobs: str) -> None:
    positions = [run.started.index(job) for job in jobs]
    assert positions == sorted(positions), f"jobs started in order {run.started}"


@pytest.mark.timeout(PIPELINE_TIMEOUT_S + 60)  # real suites, not the default 900 s
def test_merge_request_changing_a_template_runs_the_real_flink_suite_and_passes_the_gate(
    base_repo: Path, tmp_path: Path
) -> None:
    repo, base = _change_template(base_repo, tmp_path / "mr", None)
    run = _run_pipeline(
        repo,
        {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base},
    )
    assert run.returncode == 0, run.log[-6000:]
    expected = {
        "analyze-changes",
        "select-tests",
        "execute-tests",
        "test:flink_transformation_tests",
        "test:all_unit_tests",
        "aggregate-results",
        "quality-gates",
    }
    assert run.verdicts == dict.fromkeys(expected, "PASS"), run.log[-6000:]
    _assert_order(run, "analyze-changes", "select-tests", "test:flink_transformation_tests")
    _assert_order(run, "test:all_unit_tests", "aggregate-results", "quality-gates")

    analysis = json.loads(run.artifact("analyze-changes", "change-analysis.json").read_text())
    assert analysis["source"] == "merge_request"
    assert analysis["modified_files"] == [TEMPLATE]
    assert f"sql:{TEMPLATE}" in analysis["files"][0]["components"]

    plan = json.loads(run.artifact("select-tests", "test-execution-plan.json").read_text())
    assert plan["mode"] == "smart"
    assert set(plan["suites"]) == {"flink_transformation_tests", "all_unit_tests"}
    assert plan["stats"]["skipped"] == len(_catalogue(repo)) - 2
    reasons = {d["name"]: d["reasons"] for d in plan["suite_details"]}
    assert TEMPLATE in {r["change"] for r in reasons["flink_transformation_tests"]}

    child = yaml.safe_load(run.artifact("select-tests", "child-pipeline.yml").read_text())
    assert child["variables"]["CTT_PARENT_PIPELINE_SOURCE"] == "merge_request_event"
    assert json.loads(child["variables"]["CTT_PLANNED_SUITES"]) == plan["suites"]

    metrics = json.loads(run.artifact("aggregate-results", "test-metrics.json").read_text())
    assert metrics["planned_suites"] == plan["suites"]
    assert metrics["missing_suites"] == []
    flink = next(s for s in metrics["suites"] if s["name"] == "flink_transformation_tests")
    specs = list((repo / "specs").rglob("*.yaml"))
    assert flink["tests"] >= len(specs) and flink["failed"] == flink["errors"] == 0, flink
    unit = next(s for s in metrics["suites"] if s["name"] == "all_unit_tests")
    assert unit["tests"] > 100 and unit["failed"] == unit["errors"] == 0, unit
    assert metrics["totals"]["failed"] == metrics["totals"]["errors"] == 0
    junit = run.artifact("test:flink_transformation_tests", "test-results")
    assert (junit / "junit-flink_transformation_tests.xml").is_file()
    assert "quality gates (blocking)" in run.log


@pytest.mark.skipif(
    os.environ.get("CTT_E2E_GATE_BLOCKS") != "1",
    reason="a second real Flink suite run (~10 min here): set CTT_E2E_GATE_BLOCKS=1",
)
@pytest.mark.timeout(PIPELINE_TIMEOUT_S + 60)  # real suites, not the default 900 s
def test_merge_request_gate_blocks_when_a_template_breaks(base_repo: Path, tmp_path: Path) -> None:
    repo, base = _change_template(base_repo, tmp_path / "mr-fail", BREAK)
    run = _run_pipeline(
        repo,
        {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base},
    )
    assert run.verdicts["test:flink_transformation_tests"] == "FAIL", run.log[-6000:]
    assert run.verdicts["aggregate-results"] == "PASS"  # when: always, after a failed suite
    assert run.verdicts["quality-gates"] == "FAIL"
    assert "blocking quality gates failed" in run.log
    metrics = json.loads(run.artifact("aggregate-results", "test-metrics.json").read_text())
    assert metrics["totals"]["failed"] >= 1
    assert {f["suite"] for f in metrics["failures"]} == {"flink_transformation_tests"}
    assert all(f["test"].startswith("templated_event_aggregation::") for f in metrics["failures"])


@pytest.mark.skipif(
    os.environ.get("CTT_E2E_FULL_PIPELINE") != "1",
    reason="every shipped suite (integration restarts Kafka, terraform): "
    "set CTT_E2E_FULL_PIPELINE=1 and a CTT_STATE_DIR of its own",
)
@pytest.mark.timeout(PIPELINE_TIMEOUT_S + 60)  # real suites, not the default 900 s
def test_main_branch_pipeline_runs_every_shipped_suite_green(
    base_repo: Path, tmp_path: Path
) -> None:
    repo, _ = _change_template(base_repo, tmp_path / "main", None)
    run = _run_pipeline(repo, {"CI_PIPELINE_SOURCE": "push"})
    plan = json.loads(run.artifact("select-tests", "test-execution-plan.json").read_text())
    assert plan["mode"] == "full"
    assert sorted(plan["suites"]) == sorted(_catalogue(repo))
    suite_jobs = {job for job in run.verdicts if job.startswith("test:")}
    assert suite_jobs == {f"test:{name}" for name in plan["suites"]}
    failed = sorted(job for job in suite_jobs if run.verdicts[job] != "PASS")
    assert not failed, f"{failed}\n{run.log[-6000:]}"
    _assert_order(run, "test:topic_tests", "test:connector_tests")
    _assert_order(run, "test:rbac_tests", "test:connector_tests")
    assert run.verdicts["aggregate-results"] == "PASS"
    assert "quality-gates" not in run.started  # manual outside merge requests
    metrics = json.loads(run.artifact("aggregate-results", "test-metrics.json").read_text())
    assert metrics["missing_suites"] == [] and metrics["totals"]["failed"] == 0


SEED_EXECUTE_TESTS = """\
stages: [select-tests, execute-tests]
select-tests:
  stage: select-tests
  script: [./scripts/select-tests.sh --mode=$TEST_SELECTION_MODE]
  artifacts: {paths: [test-execution-plan.json], expire_in: 1 hour}
execute-tests:
  stage: execute-tests
  parallel:
    matrix:
      - TEST_SUITE: !reference [select-tests, artifacts, test-execution-plan.json]
  script: [./scripts/execute-test-suite.sh --suite=$TEST_SUITE]
"""


def test_the_seeds_matrix_from_an_artifact_is_rejected(tmp_path: Path) -> None:
    """Why the pipeline uses a child pipeline: `!reference` reads YAML keys, never artifacts."""
    exe = _gitlab_ci_local()
    (tmp_path / ".gitlab-ci.yml").write_text(SEED_EXECUTE_TESTS)
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "seed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GCL", "CI_", "GITLAB"))}
    done = subprocess.run(
        [exe, "--list", "--no-color"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "!reference [select-tests, artifacts, test-execution-plan.json] is undefined" in (
        done.stdout + done.stderr
    )

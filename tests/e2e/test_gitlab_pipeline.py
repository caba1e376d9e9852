"""The GitLab pipeline (.gitlab-ci.yml + the generated child pipeline) run with gitlab-ci-local.

Each test copies the project's tracked files into a fresh git repository, commits, makes a
second commit that changes one Flink spec, and runs the whole pipeline in gitlab-ci-local's
shell executor: analyze-changes -> select-tests -> execute-tests (the dynamic child pipeline:
one job per selected suite, aggregate-results, quality-gates). The suite catalogue is swapped
for cheap command suites with the shipped names (no Flink here: other tests run the specs), so
selection, the child pipeline, aggregation and the gate are real and the run takes seconds.

gitlab-ci-local does not implement `strategy: depend` (the trigger job passes even when the
child fails), so verdicts are read from its per-job summary lines.
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

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
GCL_VERSION_NODE20 = "4.73.0"  # the last gitlab-ci-local that runs on Node.js 20
CHANGED_SPEC = "specs/stream_join.yaml"
FAIL_MARKER = "# e2e: fail flink_transformation_tests"

FAKE_CATALOGUE = """\
# e2e fixture: the shipped suite names, each a cheap command that writes JUnit.
suites:
  flink_transformation_tests: {kind: command, path: specs/, command: python3 ../ci_fake_suite.py}
  streaming_tests: {kind: command, command: python3 ci_fake_suite.py}
  topic_tests: {kind: command, command: python3 ci_fake_suite.py}
  connector_tests: {kind: command, command: python3 ci_fake_suite.py}
  rbac_tests: {kind: command, command: python3 ci_fake_suite.py}
  basic_producer_consumer: {kind: command, command: python3 ci_fake_suite.py}
  e2e_connector_flow: {kind: command, command: python3 ci_fake_suite.py}
  all_unit_tests: {kind: command, command: python3 ci_fake_suite.py, always_run: true}
  integration_tests: {kind: command, command: python3 ci_fake_suite.py}
  e2e_tests: {kind: command, command: python3 ci_fake_suite.py}
"""

# Two test cases per suite; `check` fails when a spec carries "# e2e: fail <suite>".
FAKE_SUITE = """\
import os, pathlib
suite = os.environ["CTT_SUITE"]
root = pathlib.Path(__file__).resolve().parent
marker = "# e2e: fail " + suite
fail = any(marker in p.read_text() for p in (root / "specs").glob("*.yaml"))
bad = '<failure message="expected 1 row, got 2">diff</failure>' if fail else ""
pathlib.Path(os.environ["CTT_JUNIT_PATH"]).write_text(
    f'<testsuite name="{suite}" tests="2">'
    f'<testcase classname="{suite}" name="smoke" time="0.01"/>'
    f'<testcase classname="{suite}" name="check" time="0.01">{bad}</testcase></testsuite>'
)
raise SystemExit(1 if fail else 0)
"""


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
    """The project's tracked files (as in the working tree), fake catalogue, one commit."""
    repo = tmp_path_factory.mktemp("pipeline") / "base"
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    (repo / "continuous-testing/config/suites.yaml").write_text(FAKE_CATALOGUE)
    (repo / "ci_fake_suite.py").write_text(FAKE_SUITE)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    return repo


def _change_spec(base: Path, dest: Path, line: str) -> tuple[Path, str]:
    """A copy of the base repository with a second commit that edits one Flink spec."""
    shutil.copytree(base, dest, symlinks=True)
    spec = dest / CHANGED_SPEC
    spec.write_text(f"{line}\n{spec.read_text()}")
    _git(dest, "commit", "-q", "-am", f"edit {CHANGED_SPEC}")
    return dest, _git(dest, "rev-parse", "HEAD~1")


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
    done = subprocess.run(
        cmd, cwd=repo, capture_output=True, text=True, env=env, timeout=600, check=False
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


def _assert_order(run: PipelineRun, *jobs: str) -> None:
    positions = [run.started.index(job) for job in jobs]
    assert positions == sorted(positions), f"jobs started in order {run.started}"


def test_merge_request_pipeline_selects_the_changed_spec_and_passes_the_gate(
    base_repo: Path, tmp_path: Path
) -> None:
    repo, base = _change_spec(base_repo, tmp_path / "mr", "# e2e: a reviewer's change")
    run = _run_pipeline(
        repo,
        {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base},
    )
    assert run.returncode == 0, run.log[-4000:]
    expected = {
        "analyze-changes",
        "select-tests",
        "execute-tests",
        "test:flink_transformation_tests",
        "test:all_unit_tests",
        "aggregate-results",
        "quality-gates",
    }
    assert run.verdicts == dict.fromkeys(expected, "PASS"), run.log[-4000:]
    _assert_order(run, "analyze-changes", "select-tests", "test:flink_transformation_tests")
    _assert_order(run, "test:all_unit_tests", "aggregate-results", "quality-gates")

    analysis = json.loads(run.artifact("analyze-changes", "change-analysis.json").read_text())
    assert analysis["source"] == "merge_request"
    assert analysis["modified_files"] == [CHANGED_SPEC]
    assert "suite:flink_transformation_tests" in analysis["files"][0]["components"]

    plan = json.loads(run.artifact("select-tests", "test-execution-plan.json").read_text())
    assert plan["mode"] == "smart"
    assert set(plan["suites"]) == {"flink_transformation_tests", "all_unit_tests"}
    assert plan["stats"]["skipped"] == 8
    reasons = {d["name"]: d["reasons"][0] for d in plan["suite_details"]}
    assert reasons["flink_transformation_tests"]["change"] == CHANGED_SPEC

    child = yaml.safe_load(run.artifact("select-tests", "child-pipeline.yml").read_text())
    assert child["variables"]["CTT_PARENT_PIPELINE_SOURCE"] == "merge_request_event"
    assert json.loads(child["variables"]["CTT_PLANNED_SUITES"]) == plan["suites"]
    assert child["test:flink_transformation_tests"]["extends"] == [".ctt-suite"]

    metrics = json.loads(run.artifact("aggregate-results", "test-metrics.json").read_text())
    assert metrics["planned_suites"] == plan["suites"]
    assert metrics["missing_suites"] == []
    assert (metrics["totals"]["tests"], metrics["totals"]["passed"]) == (4, 4)
    report = run.artifact("aggregate-results", "consolidated-test-report.html").read_text()
    assert "flink_transformation_tests" in report
    junit = run.artifact("test:flink_transformation_tests", "test-results")
    assert (junit / "junit-flink_transformation_tests.xml").is_file()
    assert "quality gates (blocking)" in run.log


def test_merge_request_gate_blocks_when_a_selected_suite_fails(
    base_repo: Path, tmp_path: Path
) -> None:
    repo, base = _change_spec(base_repo, tmp_path / "mr-fail", FAIL_MARKER)
    run = _run_pipeline(
        repo,
        {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base},
    )
    assert run.verdicts["test:flink_transformation_tests"] == "FAIL", run.log[-4000:]
    assert run.verdicts["test:all_unit_tests"] == "PASS"
    # Aggregation runs after a failed suite (when: always), and the blocking gate fails.
    assert run.verdicts["aggregate-results"] == "PASS"
    assert run.verdicts["quality-gates"] == "FAIL"
    assert "blocking quality gates failed: min_pass_rate" in run.log
    metrics = json.loads(run.artifact("aggregate-results", "test-metrics.json").read_text())
    assert metrics["totals"]["failed"] == 1
    assert [f["test"] for f in metrics["failures"]] == ["flink_transformation_tests::check"]
    # ctt retried the suite (retry_failed_tests: 2): three attempts, all recorded.
    suite = next(s for s in metrics["suites"] if s["name"] == "flink_transformation_tests")
    assert suite["attempts"] == 3


def test_main_branch_pipeline_runs_every_suite_and_leaves_the_gate_manual(
    base_repo: Path, tmp_path: Path
) -> None:
    repo, _ = _change_spec(base_repo, tmp_path / "main", "# e2e: merged")
    run = _run_pipeline(repo, {"CI_PIPELINE_SOURCE": "push"})
    assert run.returncode == 0, run.log[-4000:]
    plan = json.loads(run.artifact("select-tests", "test-execution-plan.json").read_text())
    assert plan["mode"] == "full"
    assert len(plan["suites"]) == 10
    suite_jobs = {job for job in run.verdicts if job.startswith("test:")}
    assert suite_jobs == {f"test:{name}" for name in plan["suites"]}
    assert all(run.verdicts[job] == "PASS" for job in suite_jobs), run.log[-4000:]
    # connector_tests requires topic_tests and rbac_tests: `needs` orders them in the child.
    _assert_order(run, "test:topic_tests", "test:connector_tests")
    _assert_order(run, "test:rbac_tests", "test:connector_tests")
    assert run.verdicts["aggregate-results"] == "PASS"
    assert "quality-gates" not in run.started  # manual outside merge requests


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

"""Table API specs on the real stack: the program's Table runs as a job on the session cluster."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ctt.flinktest.runner import FlinkTestRunner
from ctt.report.model import ErrorKind, Status
from ctt.validate.registry import load_spec
from tests.integration.conftest import StackHandle

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "specs" / "table_api"
SPEC = SPEC_DIR / "user_programs.yaml"
PROGRAM = "programs/user_programs.py"


def _copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """The shipped spec and its program in tmp_path, the program edited old -> new."""
    shutil.copytree(SPEC_DIR, tmp_path / "table_api")
    program = tmp_path / "table_api" / PROGRAM
    text = program.read_text()
    assert old in text
    program.write_text(text.replace(old, new))
    return tmp_path / "table_api" / SPEC.name


def test_shipped_table_api_spec_passes_through_the_cli(stack: StackHandle) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "ctt", "run", str(SPEC)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 passed, 0 failed" in res.stdout
    run_id = res.stdout.split("run ", 1)[1].split()[0].rstrip(")")
    jobs = httpx.get(f"{stack.flink_rest_url}/jobs/overview", timeout=30).json()["jobs"]
    ours = [j for j in jobs if run_id in j["name"]]
    assert len(ours) == 2, [j["name"] for j in jobs]  # one session-cluster job per program
    assert all(j["state"] == "FINISHED" for j in ours)


def test_a_changed_program_fails_its_expectations(stack: StackHandle, tmp_path: Path) -> None:
    spec = _copy(tmp_path, 'col("age") >= 18', 'col("age") >= 21')
    tests = [t for t in load_spec(spec) if t.test.name == "table_api_classify_users"]
    report = FlinkTestRunner(stack.state).run(tests)
    (result,) = report.tests
    assert result.status is Status.FAILED, result.message
    details = "\n".join(o.details or "" for o in result.outcomes if not o.passed)
    assert "user_id=3" in details  # carol (18) became a minor
    assert report.exit_code() == 1


def test_a_program_error_points_at_the_program_line(stack: StackHandle, tmp_path: Path) -> None:
    spec = _copy(tmp_path, 'col("user_name").upper_case', 'col("user_nam").upper_case')
    tests = [t for t in load_spec(spec) if t.test.name == "table_api_classify_users"]
    report = FlinkTestRunner(stack.state).run(tests)
    (result,) = report.tests
    assert result.status is Status.ERROR and result.error_kind is ErrorKind.CONFIG
    program = spec.parent / PROGRAM
    lines = program.read_text().splitlines()
    # the statement that failed: the select(...) call, or the line inside it with the typo
    at = {i for i, t in enumerate(lines, 1) if "users.select(" in t or 'user_nam"' in t}
    message = result.message or ""
    prefix = f"{program.resolve()}:"
    assert message.startswith(prefix), message
    assert int(message[len(prefix) :].split(":", 1)[0]) in at, message
    assert "user_nam" in message and "Traceback" not in message
    assert report.exit_code() == 2


def test_a_function_that_returns_no_table_is_a_config_error(
    stack: StackHandle, tmp_path: Path
) -> None:
    spec = _copy(
        tmp_path, "    users = env.from_path", "    return None\n    users = env.from_path"
    )
    tests = [t for t in load_spec(spec) if t.test.name == "table_api_classify_users"]
    (result,) = FlinkTestRunner(stack.state).run(tests).tests
    assert result.error_kind is ErrorKind.CONFIG
    assert "classify_users() returned NoneType, not a Table" in (result.message or "")

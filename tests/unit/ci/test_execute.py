"""The executor against real processes: JUnit, timeouts, retries, dependencies, pools, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ctt.ci.execute import ExecOptions, _command, execute
from ctt.config.suites import Suite, SuiteCatalogue, SuiteKind
from ctt.report.junit import read_junit
from ctt.report.model import Status
from tests.conftest import needs_terraform

EMIT = textwrap.dedent(
    """
    import os, sys, time
    mode = sys.argv[1]
    attempt = int(os.environ["CTT_ATTEMPT"])
    log = os.environ.get("SPAN_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(f"start {os.environ['CTT_SUITE']} {time.monotonic()}\\n")
    time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
    if mode == "flaky":
        mode = "fail" if attempt == 1 else "pass"
    body = '<failure message="expected 3, got 4">- 3\\n+ 4</failure>' if mode == "fail" else ""
    with open(os.environ["CTT_JUNIT_PATH"], "w") as fh:
        fh.write('<testsuites><testsuite name="s">'
                 f'<testcase classname="k" name="t1" time="0.1">{body}</testcase>'
                 '<testcase classname="k" name="t2"/></testsuite></testsuites>')
    if log:
        with open(log, "a") as fh:
            fh.write(f"end {os.environ['CTT_SUITE']} {time.monotonic()}\\n")
    """
)


@pytest.fixture
def emit(tmp_path: Path) -> str:
    script = tmp_path / "emit.py"
    script.write_text(EMIT)
    return f"{sys.executable} {script}"


def _opts(tmp_path: Path, **kw: object) -> ExecOptions:
    return ExecOptions(
        results_dir=tmp_path / "test-results",
        logs_dir=tmp_path / "logs",
        cwd=tmp_path,
        kill_grace=2.0,
        **kw,  # type: ignore[arg-type]
    )


def _cat(
    suites: dict[str, dict[str, object]], pools: dict[str, float] | None = None
) -> SuiteCatalogue:
    return SuiteCatalogue.model_validate(
        {"suites": suites, "pools": {k: {"capacity": v} for k, v in (pools or {}).items()}}
    )


def _gone(pid: int, deadline: float = 10.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie whose parent is gone is reaped by init; treat 'Z' as gone
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            if state == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_outcomes_of_each_kind_of_suite(tmp_path: Path, emit: str) -> None:
    cat = _cat(
        {
            "ok": {"kind": "command", "command": f"{emit} pass"},
            "bad": {"kind": "command", "command": f"{emit} fail"},
            "nojunit": {"kind": "command", "command": "echo hello; exit 0"},
            "crash": {"kind": "command", "command": f"{emit} pass; exit 3"},
        }
    )
    summary = execute(["ok", "bad", "nojunit", "crash", "ghost"], cat, _opts(tmp_path))
    by = {s.name: s for s in summary.suites}
    assert by["ok"].status is Status.PASSED and by["ok"].tests == 2
    assert by["bad"].status is Status.FAILED and by["bad"].failed == 1
    assert by["nojunit"].status is Status.ERROR
    assert by["crash"].status is Status.ERROR  # exit 3 with all tests passing
    assert by["ghost"].status is Status.ERROR and by["ghost"].reason == "not in catalogue"
    assert not summary.ok
    results = tmp_path / "test-results"
    for name in ("ok", "bad", "nojunit", "crash", "ghost"):
        assert (results / f"junit-{name}.xml").exists()
        assert json.loads((results / f"results-{name}.json").read_text())["name"] == name
    failure = next(
        c for s in read_junit(results / "junit-bad.xml").suites for c in s.cases if c.name == "t1"
    )
    assert failure.details == "- 3\n+ 4"
    nojunit = read_junit(results / "junit-nojunit.xml").suites[0].cases[0]
    assert "no JUnit result" in (nojunit.message or "") and "hello" in (nojunit.details or "")


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    cmd = f"sleep 300 & echo $! > {pidfile}; wait"
    cat = _cat({"slow": {"kind": "command", "command": cmd, "timeout": "1s"}})
    t0 = time.monotonic()
    summary = execute(["slow"], cat, _opts(tmp_path))
    assert time.monotonic() - t0 < 30
    [res] = summary.suites
    assert res.status is Status.ERROR and res.attempts[0].timed_out
    assert _gone(int(pidfile.read_text()))
    case = read_junit(tmp_path / "test-results" / "junit-slow.xml").suites[0].cases[0]
    assert case.status is Status.ERROR and "timed out after 1s" in (case.message or "")


def test_retry_records_every_attempt_and_marks_flaky(tmp_path: Path, emit: str) -> None:
    cat = _cat(
        {
            "flaky": {"kind": "command", "command": f"{emit} flaky"},
            "bad": {"kind": "command", "command": f"{emit} fail"},
        }
    )
    summary = execute(["flaky", "bad"], cat, _opts(tmp_path, retries=2))
    by = {s.name: s for s in summary.suites}
    assert by["flaky"].status is Status.PASSED and by["flaky"].flaky == 1
    assert len(by["flaky"].attempts) == 2
    assert by["bad"].status is Status.FAILED and len(by["bad"].attempts) == 3
    cases = {
        c.name: c for c in read_junit(tmp_path / "test-results" / "junit-flaky.xml").suites[0].cases
    }
    assert cases["t1"].flaky and [a.status for a in cases["t1"].attempts] == [
        Status.FAILED,
        Status.PASSED,
    ]
    assert not cases["t2"].flaky and cases["t2"].attempts == []
    bad = {
        c.name: c for c in read_junit(tmp_path / "test-results" / "junit-bad.xml").suites[0].cases
    }
    assert len(bad["t1"].attempts) == 3 and bad["t1"].status is Status.FAILED


def test_a_failed_prerequisite_skips_its_dependents(tmp_path: Path, emit: str) -> None:
    cat = _cat(
        {
            "base": {"kind": "command", "command": f"{emit} fail"},
            "child": {"kind": "command", "command": f"{emit} pass"},
            "other": {"kind": "command", "command": f"{emit} pass"},
        }
    )
    summary = execute(["base", "child", "other"], cat, _opts(tmp_path), deps={"child": ["base"]})
    by = {s.name: s for s in summary.suites}
    assert by["child"].status is Status.SKIPPED and "base" in (by["child"].reason or "")
    assert by["other"].status is Status.PASSED
    assert not (tmp_path / "logs" / "child.attempt-1.log").exists()


def _spans(log: Path) -> dict[str, tuple[float, float]]:
    starts: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for line in log.read_text().splitlines():
        kind, name, t = line.split()
        if kind == "start":
            starts[name] = float(t)
        else:
            spans[name] = (starts[name], float(t))
    return spans


def _max_overlap(spans: dict[str, tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    running = peak = 0
    for _, d in sorted(events, key=lambda x: (x[0], x[1])):
        running += d
        peak = max(peak, running)
    return peak


def test_parallel_limit_and_pools_bound_concurrency(tmp_path: Path, emit: str) -> None:
    log = tmp_path / "spans.log"
    suites = {
        f"s{i}": {"kind": "command", "command": f"{emit} pass 0.3", "env": {"SPAN_LOG": str(log)}}
        for i in range(5)
    }
    summary = execute(list(suites), _cat(suites), _opts(tmp_path, parallel_limit=2))
    assert summary.ok
    assert _max_overlap(_spans(log)) <= 2

    log2 = tmp_path / "spans2.log"
    heavy = {
        f"h{i}": {
            "kind": "command",
            "command": f"{emit} pass 0.3",
            "env": {"SPAN_LOG": str(log2)},
            "resources": {"slots": 2},
        }
        for i in range(3)
    }
    execute(list(heavy), _cat(heavy, {"slots": 3}), _opts(tmp_path, parallel_limit=3))
    assert _max_overlap(_spans(log2)) == 1


def test_fail_fast_cancels_running_and_pending(tmp_path: Path, emit: str) -> None:
    pidfile = tmp_path / "long.pid"
    cat = _cat(
        {
            "long": {"kind": "command", "command": f"sleep 300 & echo $! > {pidfile}; wait"},
            "bad": {"kind": "command", "command": f"{emit} fail 0.5"},
            "later": {"kind": "command", "command": f"{emit} pass"},
        }
    )
    summary = execute(
        ["long", "bad", "later"],
        cat,
        _opts(tmp_path, parallel_limit=2, fail_fast=True),
        expected={"long": 100, "bad": 50, "later": 1},
    )
    by = {s.name: s for s in summary.suites}
    assert by["bad"].status is Status.FAILED
    assert by["long"].status is Status.ERROR and by["long"].reason == "cancelled"
    assert by["later"].status is Status.SKIPPED
    assert _gone(int(pidfile.read_text()))


def test_command_with_its_own_junit_path(tmp_path: Path) -> None:
    junit = '<testsuite name="x"><testcase name="t"/></testsuite>'
    cat = _cat(
        {"own": {"kind": "command", "command": f"echo '{junit}' > out.xml", "junit": "out.xml"}}
    )
    [res] = execute(["own"], cat, _opts(tmp_path)).suites
    assert res.status is Status.PASSED and res.tests == 1


def test_metrics_from_the_results_json(tmp_path: Path) -> None:
    cmd = (
        'echo \'<testsuite name="x"><testcase name="t"/></testsuite>\' > "$CTT_JUNIT_PATH"; '
        'echo \'{"metrics": {"streaming_data_accuracy": 0.9995, "label": "x"}}\' > "$CTT_RESULTS_PATH"'
    )
    [res] = execute(["m"], _cat({"m": {"kind": "command", "command": cmd}}), _opts(tmp_path)).suites
    assert res.metrics == {"streaming_data_accuracy": 0.9995}


def test_flink_suites_go_through_ctt_run(tmp_path: Path) -> None:
    suite = Suite(kind=SuiteKind.FLINK, path="specs/orders")
    argv, cwd = _command(suite, tmp_path / "j.xml", tmp_path / "r.json")
    assert argv[:5] == [sys.executable, "-m", "ctt", "run", "specs/orders"]
    assert argv[5:] == ["--junit", str(tmp_path / "j.xml"), "--results", str(tmp_path / "r.json")]
    assert cwd is None


@needs_terraform
def test_terraform_suite_runs_terraform_test(tmp_path: Path) -> None:
    mod = tmp_path / "mod"
    (mod / "tests").mkdir(parents=True)
    (mod / "main.tf").write_text(
        'variable "a" {\n  default = 1\n}\noutput "b" {\n  value = var.a + 1\n}\n'
    )
    (mod / "tests" / "b.tftest.hcl").write_text(
        'run "adds" {\n  command = plan\n  assert {\n    condition = output.b == 2\n'
        '    error_message = "b"\n  }\n}\n'
        'run "wrong" {\n  command = plan\n  assert {\n    condition = output.b == 3\n'
        '    error_message = "b is not 3"\n  }\n}\n'
    )
    cat = _cat({"tf": {"kind": "terraform", "path": "mod"}})
    [res] = execute(["tf"], cat, _opts(tmp_path)).suites
    assert res.tests == 2 and res.failed == 1, res.problems
    assert res.status is Status.FAILED


def test_ctrl_c_cancels_suites_and_exits_130(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    (tmp_path / "suites.yaml").write_text(
        "suites:\n"
        f"  long:\n    kind: command\n    command: 'sleep 300 & echo $! > {pidfile}; wait'\n"
    )
    (tmp_path / "plan.json").write_text(json.dumps({"suites": ["long"], "parallel_limit": 1}))
    env = {**os.environ, "CI": "true"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctt", "run", "--plan", "plan.json", "--catalogue", "suites.yaml"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, "suite never started"
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out.decode()
    assert _gone(int(pidfile.read_text()))
    summary = json.loads((tmp_path / "test-results" / "run-summary.json").read_text())
    assert summary["interrupted"] is True
    assert summary["suites"][0]["status"] == "error"


def _suite_error(tmp_path: Path, name: str) -> str:
    case = read_junit(tmp_path / "test-results" / f"junit-{name}.xml").suites[0].cases[0]
    return case.message or ""


def test_a_suite_whose_directory_is_missing_says_so(tmp_path: Path) -> None:
    cat = _cat(
        {
            "rbac_tests": {"kind": "terraform", "path": "terraform/modules/rbac"},
            "cmd": {"kind": "command", "path": "no/such/dir", "command": "true"},
        }
    )
    summary = execute(["rbac_tests", "cmd"], cat, _opts(tmp_path))
    assert [s.status for s in summary.suites] == [Status.ERROR, Status.ERROR]
    message = _suite_error(tmp_path, "rbac_tests")
    assert "suite 'rbac_tests' cannot start" in message
    assert "module directory terraform/modules/rbac does not exist" in message
    assert "/bin/sh" not in message
    assert "directory no/such/dir does not exist" in _suite_error(tmp_path, "cmd")


def test_a_command_that_selects_no_test_is_an_error_naming_the_suite(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    pytest_cmd = (
        f'{sys.executable} -m pytest tests -q -p no:cacheprovider --junitxml "$CTT_JUNIT_PATH"'
    )
    cat = _cat(
        {
            "none": {"kind": "command", "command": f"{pytest_cmd} -k nothing_matches"},
            "one": {"kind": "command", "command": pytest_cmd},
        }
    )
    by = {s.name: s for s in execute(["none", "one"], cat, _opts(tmp_path)).suites}
    assert by["one"].status is Status.PASSED and by["one"].tests == 1
    assert by["none"].status is Status.ERROR
    message = _suite_error(tmp_path, "none")
    assert "suite 'none' selected no test (exit code 5" in message

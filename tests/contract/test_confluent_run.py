"""`ctt run --engine confluent` end to end against the contract server, which executes on the stack.

The CLI runs as a user runs it (a process, spec files, ``CONFLUENT_*`` variables);
the contract server validates every request and response against Confluent's
OpenAPI files (the fixture fails the test on any violation) and executes the
statements on the shared local stack through the SQL Gateway.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.contract.confluent_server import ContractServer, confluent_env, serve_on_stack
from tests.integration.conftest import StackHandle, developer_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BASIC = ROOT / "specs" / "basic_field_transformation.yaml"
CTT = [sys.executable, "-m", "ctt", "run", "--engine", "confluent"]


@pytest.fixture
def live(
    spec_apis: dict[str, Any], spec_docs: dict[str, dict[str, Any]], stack: StackHandle
) -> Iterator[ContractServer]:
    srv = serve_on_stack(spec_apis, spec_docs, stack.state)
    yield srv
    srv.close()
    assert srv.app.violations == [], "\n".join(srv.app.violations)
    assert srv.registry is not None and srv.registry.app.unknown == [], srv.registry.app.unknown


def _env(live: ContractServer, stack: StackHandle) -> dict[str, str]:
    return {**developer_env(), **confluent_env(live, stack.bootstrap_servers)}


def _ctt(
    live: ContractServer, stack: StackHandle, tmp: Path, *args: str, timeout: float = 900
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    results = tmp / "results.json"
    proc = subprocess.run(
        [*CTT, *args, "--junit", str(tmp / "junit.xml"), "--results", str(results)],
        capture_output=True,
        text=True,
        env=_env(live, stack),
        cwd=ROOT,
        timeout=timeout,
    )
    doc = json.loads(results.read_text()) if results.is_file() else {}
    return proc, doc


def _left(live: ContractServer) -> list[str]:
    """Statements still on the server (deleted ones linger a few GETs: not counted)."""
    with live.app.lock:
        return [n for n, s in live.app.statements.items() if s.deleted_gets is None]


def _spec(tmp: Path, **test_overrides: Any) -> Path:
    doc = yaml.safe_load(BASIC.read_text())
    doc["flink_transformation_tests"]["basic_field_transformation"].update(test_overrides)
    path = tmp / "basic.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_every_shipped_spec_passes_or_is_refused_up_front(
    live: ContractServer, stack: StackHandle, tmp_path: Path
) -> None:
    proc, doc = _ctt(live, stack, tmp_path, "specs", "-p", str(stack.slots))
    tests = doc["tests"]
    by_status: dict[str, list[dict[str, Any]]] = {}
    for t in tests:
        by_status.setdefault(t["status"], []).append(t)
    assert set(by_status) <= {"passed", "skipped"}, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(by_status["passed"]) >= 10
    for t in by_status["skipped"]:
        assert t["message"].startswith("local engine only: "), t
    refused = {t["name"]: t["message"] for t in by_status["skipped"]}
    assert "PROCTIME()" in refused["user_events_transformed"]
    assert (
        "SKIPPED specs/user_events_transformed.yaml::user_events_transformed: "
        "local engine only: PROCTIME()" in proc.stdout + proc.stderr
    )
    # one line per statement with its Confluent name and phase; nothing left behind
    lines = re.findall(
        r"confluent statement (ctt-[a-z0-9.-]+): ([A-Z]+)", proc.stdout + proc.stderr
    )
    assert {phase for _name, phase in lines} >= {"PENDING", "RUNNING", "COMPLETED"}
    assert all(name.startswith(f"ctt-{doc['run_id']}-") for name, _ in lines)
    assert _left(live) == []


def test_429_and_5xx_are_retried_and_a_create_is_never_posted_blindly(
    live: ContractServer, stack: StackHandle, tmp_path: Path
) -> None:
    live.app.inject("GET", r"/statements/ctt-", 429, times=3)
    live.app.inject("GET", r"/statements/ctt-", 500, times=2)  # the only 5xx the spec declares
    live.app.inject("POST", r"/statements$", 429, times=1)
    live.app.inject("POST", r"/statements$", 500, times=1)
    proc, doc = _ctt(live, stack, tmp_path, str(BASIC))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [t["status"] for t in doc["tests"]] == ["passed"]
    calls = live.app.calls
    failed_posts = [i for i, c in enumerate(calls) if c[0] == "POST" and c[2] in (429, 500)]
    assert len(failed_posts) == 2
    for i in failed_posts:  # after a failed create ctt looks before it posts again
        assert calls[i + 1][0] == "GET", calls[i : i + 3]
    assert _left(live) == []


@pytest.mark.parametrize("phase", ["FAILING", "DEGRADED"])
def test_a_failing_or_degraded_job_fails_the_test_with_its_exception(
    live: ContractServer, stack: StackHandle, tmp_path: Path, phase: str
) -> None:
    live.app.job_script = (["PENDING", "RUNNING", phase], "ArithmeticException: / by zero")
    proc, doc = _ctt(live, stack, tmp_path, str(BASIC))
    (t,) = doc["tests"]
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert t["status"] == "failed" and "/ by zero" in t["message"], t
    assert _left(live) == []


def test_an_unknown_phase_is_a_clear_error(
    live: ContractServer, stack: StackHandle, tmp_path: Path
) -> None:
    live.app.job_script = (["PENDING", "RESHARDING"], None)
    proc, doc = _ctt(live, stack, tmp_path, str(BASIC))
    (t,) = doc["tests"]
    assert proc.returncode == 3 and t["status"] == "error", t
    assert "phase 'RESHARDING'" in t["message"] and "does not know" in t["message"]
    assert _left(live) == []


def test_a_statement_pending_too_long_hits_the_tests_deadline(
    live: ContractServer, stack: StackHandle, tmp_path: Path
) -> None:
    live.app.job_script = (["PENDING"], None)
    _proc, doc = _ctt(live, stack, tmp_path, str(_spec(tmp_path, timeout="20s")))
    (t,) = doc["tests"]
    assert (
        t["status"] == "error"
        and "timed out after 20s waiting for the job to run" in (t["message"])
    ), t
    assert _left(live) == []


def _when_a_job_runs(live: ContractServer, action: Any, deadline_s: float = 300) -> None:
    def watch() -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            running = [s for s in live.app.jobs() if s.phase == "RUNNING"]
            if running:
                action(running[0])
                return
            time.sleep(0.1)

    threading.Thread(target=watch, daemon=True).start()


def test_a_statement_deleted_under_the_run_is_reported_not_waited_for(
    live: ContractServer, stack: StackHandle, tmp_path: Path
) -> None:
    live.app.job_script = (["PENDING", "RUNNING"], None)  # runs until someone deletes it
    _when_a_job_runs(live, lambda job: live.app.vanish(lambda s: s is job))
    proc, doc = _ctt(live, stack, tmp_path, str(BASIC))
    (t,) = doc["tests"]
    assert proc.returncode == 3 and t["status"] == "error", t
    assert "no longer exists in Confluent Cloud" in t["message"]


def test_ctrl_c_deletes_the_runs_statements_and_topics(
    live: ContractServer, stack: StackHandle, tmp_path: Path
) -> None:
    live.app.job_script = (["PENDING", "RUNNING"], None)
    proc = subprocess.Popen(
        [
            *CTT,
            str(BASIC),
            "--junit",
            str(tmp_path / "j.xml"),
            "--results",
            str(tmp_path / "r.json"),
        ],
        env=_env(live, stack),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sent = threading.Event()

    def interrupt(_job: Any) -> None:
        proc.send_signal(signal.SIGINT)
        sent.set()

    _when_a_job_runs(live, interrupt)
    _out, err = proc.communicate(timeout=600)
    assert sent.is_set() and proc.returncode != 0, err[-2000:]
    assert _left(live) == [], err[-2000:]
    doc = json.loads((tmp_path / "r.json").read_text())
    (t,) = doc["tests"]
    assert t["status"] == "error" and any("deleted" in line for line in t["log"]), t
    run_topics = _run_topics(stack, doc["run_id"])
    assert run_topics == [], run_topics


def _run_topics(stack: StackHandle, run_id: str) -> list[str]:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    topics = admin.list_topics(timeout=15).topics
    return sorted(t for t in topics if f".{run_id}." in t)

"""`ctt stack up && ctt stack status --json && ctt stack down` from a shell, and nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e


def ctt(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ctt", *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_up_status_down_leaves_no_process(tmp_path: Path) -> None:
    env = {**os.environ, "CTT_STATE_DIR": str(tmp_path / "state"), "CI": "true"}
    up = ctt(env, "stack", "up", "--slots", "2")
    assert up.returncode == 0, up.stderr
    try:
        again = ctt(env, "stack", "up")
        assert again.returncode == 0 and "nothing to do" in again.stdout

        status = ctt(env, "stack", "status", "--json")
        assert status.returncode == 0
        doc = json.loads(status.stdout)
        assert doc["running"] and doc["healthy"] and doc["slots"] == 2
        comps = {c["name"]: c for c in doc["components"]}
        assert set(comps) == {"kafka", "jobmanager", "taskmanager", "sql-gateway"}
        for c in comps.values():
            assert c["pid"] > 0 and c["version"] and c["healthy"]
            assert psutil.pid_exists(c["pid"])
        assert comps["kafka"]["port"] and comps["sql-gateway"]["port"] and comps["jobmanager"]["port"]

        logs = ctt(env, "stack", "logs", "jobmanager", "-n", "5")
        assert logs.returncode == 0 and logs.stdout.strip()

        # down --keep, then up: Kafka's data (a topic) survives, storage is not formatted again
        from ctt.kafka.admin import TopicAdmin

        TopicAdmin(doc["bootstrap_servers"]).create({"kept-topic": 1})
        assert ctt(env, "stack", "down", "--keep").returncode == 0
        assert (tmp_path / "state" / "run" / "kafka-data" / "meta.properties").is_file()
        up2 = ctt(env, "stack", "up")
        assert up2.returncode == 0 and "reusing Kafka data" in up2.stdout, up2.stderr
        doc = json.loads(ctt(env, "stack", "status", "--json").stdout)
        comps = {c["name"]: c for c in doc["components"]}
        assert "kept-topic" in TopicAdmin(doc["bootstrap_servers"]).list()
    finally:
        down = ctt(env, "stack", "down")
    assert down.returncode == 0, down.stderr
    pids = [c["pid"] for c in comps.values()]
    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not (tmp_path / "state" / "run").exists()
    after = ctt(env, "stack", "status", "--json")
    assert json.loads(after.stdout)["running"] is False

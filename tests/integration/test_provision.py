"""``ctt infra`` and ``ctt run --provision`` end to end on the real terraform binary.

The Terraform registry is out of reach here, so the module applied is
terraform/standin/flink-testing: the real module's spec and outputs over
terraform's built-in ``terraform_data``. Each create and destroy appends a line
to an events file (``TF_VAR_standin_events_file``), which is what these tests
read to tell what terraform really did.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctt.errors import UsageError
from ctt.infra.provision import confluent_run, module_variables, provisioned
from ctt.infra.terraform import TerraformError
from tests.conftest import needs_terraform

REPO = Path(__file__).resolve().parents[2]
IDS = {
    "CONFLUENT_ORG_ID": "00000000-0000-0000-0000-000000000c77",
    "CONFLUENT_ENV_ID": "env-abc123",
    "CONFLUENT_KAFKA_CLUSTER_ID": "lkc-xyz789",
}
SEED_TOPICS = {
    "test-errors": 3,
    "dead-letter-queue": 1,
    "transformed-data": 6,
    "aggregated-results": 3,
}

pytestmark = [
    pytest.mark.integration,
    needs_terraform,
]


@pytest.fixture
def standin(tmp_path: Path) -> Path:
    """A copy of the stand-in and the modules it uses; returns the stand-in's directory."""
    ignore = shutil.ignore_patterns(".terraform", "terraform.tfstate*", ".terraform.lock.hcl")
    for part in ("terraform/standin", "terraform/modules", "terraform/tests", "flink"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=ignore)
    return tmp_path / "terraform/standin/flink-testing"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    events = tmp_path / "events.log"
    for k, v in IDS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("TF_VAR_standin_events_file", str(events))
    yield events


def _events(path: Path) -> tuple[list[str], list[str]]:
    lines = path.read_text().splitlines() if path.exists() else []
    created = sorted(line.split(" ", 1)[1] for line in lines if line.startswith("create "))
    destroyed = sorted(line.split(" ", 1)[1] for line in lines if line.startswith("destroy "))
    return created, destroyed


def _workspaces(module: Path) -> list[str]:
    root = module / "terraform.tfstate.d"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def _ctt(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctt", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_provision_feeds_outputs_into_engine_settings_and_destroys(
    standin: Path, env: Path
) -> None:
    saved = os.environ.get("CONFLUENT_COMPUTE_POOL_ID")
    lines: list[str] = []
    with confluent_run(
        enabled=True, engine="confluent", module=standin, run_id="r1", say=lines.append
    ):
        pool = os.environ["CONFLUENT_COMPUTE_POOL_ID"]
        principal = os.environ["CONFLUENT_PRINCIPAL_ID"]
        assert os.environ["CONFLUENT_FLINK_REST_ENDPOINT"] == (
            "https://flink.us-west-2.aws.confluent.cloud"
        )
        assert os.environ["CONFLUENT_FLINK_API_SECRET"]  # a sensitive output is handed on too
        assert os.environ["CONFLUENT_SCHEMA_REGISTRY_URL"].startswith("https://psrc-")
        assert os.environ["CONFLUENT_SCHEMA_REGISTRY_API_SECRET"]
        assert os.environ["CONFLUENT_ENV_ID"] == IDS["CONFLUENT_ENV_ID"]
        assert _workspaces(standin) == ["ctt-r1"]
        created, destroyed = _events(env)
        assert destroyed == []
    assert pool.startswith("lfcp-") and principal.startswith("sa-")
    assert os.environ.get("CONFLUENT_COMPUTE_POOL_ID") == saved  # restored after the run
    created, destroyed = _events(env)
    assert "service_account" in created and "compute_pool" in created
    assert {f"topic.{t}" for t in SEED_TOPICS} <= set(created)
    assert created == destroyed  # everything it made is gone
    assert _workspaces(standin) == []  # and so is the run's workspace
    assert any("destroyed 22 resource(s)" in line for line in lines)


def test_ctrl_c_inside_the_run_still_destroys(standin: Path, env: Path) -> None:
    with (
        pytest.raises(KeyboardInterrupt),
        provisioned(standin, run_id="r2", variables=module_variables("r2")),
    ):
        raise KeyboardInterrupt
    created, destroyed = _events(env)
    assert created and created == destroyed
    assert _workspaces(standin) == []


def test_failed_apply_leaves_nothing(standin: Path, env: Path) -> None:
    bad = module_variables("r3", {"cluster_id": "my-cluster"})
    with (
        pytest.raises(TerraformError, match="cluster_id must look like lkc-xxxxx"),
        provisioned(standin, run_id="r3", variables=bad),
    ):
        raise AssertionError("the body must not run")
    assert _events(env) == ([], [])
    assert _workspaces(standin) == []


def test_provision_needs_the_confluent_engine(standin: Path) -> None:
    with (
        pytest.raises(UsageError, match="needs --engine confluent"),
        confluent_run(enabled=True, engine="local", module=standin, run_id="r", say=print),
    ):
        pass


def test_infra_cli_plan_apply_output_destroy(standin: Path, env: Path) -> None:
    plan = _ctt("infra", "plan", str(standin), "--json", cwd=standin)
    assert plan.returncode == 0, plan.stderr
    doc = json.loads(plan.stdout)
    assert doc["summary"]["add"] == 22 and doc["summary"]["remove"] == 0
    assert {c["action"] for c in doc["summary"]["changes"]} == {"create"}
    assert _workspaces(standin) == []  # plan's workspace is removed again

    human = _ctt("infra", "plan", str(standin), cwd=standin)
    assert "plan: 22 to add, 0 to change, 0 to destroy" in human.stdout + human.stderr
    assert 'terraform_data.object["topic.test-errors"]' in human.stdout + human.stderr

    applied = _ctt("infra", "apply", str(standin), "--json", cwd=standin)
    assert applied.returncode == 0, applied.stderr
    doc = json.loads(applied.stdout)
    workspace = doc["workspace"]
    assert _workspaces(standin) == [workspace]
    assert doc["outputs"]["flink_api_secret"]["value"] == "(sensitive)"
    assert doc["outputs"]["topics"]["value"] == {
        f"{workspace}-{name}": parts for name, parts in SEED_TOPICS.items()
    }

    shown = _ctt("infra", "output", str(standin), "--workspace", workspace, "--json", cwd=standin)
    assert (
        json.loads(shown.stdout)["outputs"]["compute_pool_id"] == doc["outputs"]["compute_pool_id"]
    )

    gone = _ctt("infra", "destroy", str(standin), "--workspace", workspace, cwd=standin)
    assert gone.returncode == 0, gone.stderr
    created, destroyed = _events(env)
    assert created and created == destroyed
    assert _workspaces(standin) == []

    again = _ctt("infra", "destroy", str(standin), "--workspace", workspace, cwd=standin)
    assert again.returncode == 2 and "has no workspace" in again.stderr


def test_run_provision_destroys_after_a_failed_run(standin: Path, env: Path) -> None:
    """The run itself fails (here: before any test), the provisioned resources go anyway."""
    (standin / "empty").mkdir()
    proc = _ctt(
        "run",
        "--engine",
        "confluent",
        "--provision",
        "--provision-module",
        str(standin),
        str(standin / "empty"),
        cwd=standin,
    )
    assert proc.returncode == 2, proc.stderr
    said = proc.stdout + proc.stderr
    assert "terraform: applying" in said and "terraform: destroyed 22" in said
    created, destroyed = _events(env)
    assert len(created) == 22 and created == destroyed
    assert _workspaces(standin) == []


def test_sigint_to_ctt_run_provision_destroys_what_was_made(standin: Path, tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT) while terraform applies: terraform stops, ctt destroys, exit 130.

    The events file is a FIFO: the first "create" line read from it proves the apply
    is under way, which is when the signal goes out (no sleeping, a deadline only).

    What proves that nothing is left is terraform itself: it refuses to delete a workspace
    that still tracks an object. The events cannot: when the interrupt kills an object's
    create-time provisioner, terraform destroys the object without running its destroy-time
    provisioner (as for a tainted object), so its "destroy" line can be missing (seen under
    load, 3 runs in 14; terraform's count of what it destroyed still covers it).
    """
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    env = {**os.environ, **IDS, "TF_VAR_standin_events_file": str(fifo)}
    (standin / "empty").mkdir()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "ctt", "run", "--engine", "confluent", "--provision"),
            *("--provision-module", str(standin), str(standin / "empty")),
        ],
        cwd=standin,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    data = b""
    signalled = False
    deadline = time.monotonic() + 600
    try:
        while proc.poll() is None or select.select([reader], [], [], 0)[0]:
            assert time.monotonic() < deadline, "ctt run --provision did not end"
            ready, _, _ = select.select([reader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(reader, 65536)
                except BlockingIOError:  # a writer came and went between select and read
                    continue
                data += chunk
                if not chunk and proc.poll() is not None:
                    break
            if not signalled and b"create " in data:
                proc.send_signal(signal.SIGINT)
                signalled = True
    finally:
        os.close(reader)
        if proc.poll() is None:
            proc.kill()
    stdout, stderr = proc.communicate()
    assert signalled
    assert proc.returncode == 130, stderr
    lines = data.decode().splitlines()
    created = {line[7:] for line in lines if line.startswith("create ")}
    destroyed = {line[8:] for line in lines if line.startswith("destroy ")}
    said = stdout + stderr
    assert created and destroyed <= created, said
    count = re.search(r"terraform: destroyed (\d+) resource", said)
    assert count is not None and int(count.group(1)) >= len(created), said
    assert _workspaces(standin) == []  # terraform deleted it: it tracked nothing any more


def test_module_needing_the_registry_fails_in_one_line_and_leaves_no_workspace(
    standin: Path, env: Path
) -> None:
    """The real confluent layer cannot init here: exit 3, one line with a hint, no leftovers."""
    topics = standin.parents[1] / "modules/topics"
    proc = _ctt("infra", "plan", str(topics), cwd=standin)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.count("\n") == 1 and "registry access" in proc.stderr
    assert not (topics / "terraform.tfstate.d").exists()

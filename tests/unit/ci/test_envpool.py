"""Environment leases in the history database: real concurrent processes, crashes, rotation, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ctt.ci.envpool import EnvPoolStore, PoolExhausted
from ctt.ci.history import HistoryStore
from ctt.config.environments import EnvPool, load_env_pools
from ctt.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[3]
POOL = EnvPool.model_validate(
    {"ttl": "10m", "environments": {n: {"env": {"STACK": n}} for n in ("a", "b", "c")}}
)

# One job: wait for the start file, lease (no wait), print the result, then hold or exit.
JOB = """\
import json, os, sys, time
from pathlib import Path
from ctt.ci.envpool import EnvPoolStore, PoolExhausted
from ctt.ci.history import HistoryStore
from ctt.config.environments import EnvPool
db, start, ttl, hold = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "hold"
pool = EnvPool.model_validate({"ttl": ttl, "environments": {n: {} for n in "abc"}})
store = EnvPoolStore(HistoryStore.open(db))
deadline = time.monotonic() + 60
while not start.exists():
    if time.monotonic() > deadline:
        sys.exit(9)
    time.sleep(0.01)
try:
    got = store.try_lease("p", pool, f"job-{os.getpid()}")
except Exception as exc:
    print(json.dumps({"error": repr(exc)}), flush=True)
    sys.exit(3)
print(json.dumps(got.model_dump(mode="json") if got else None), flush=True)
if hold and got:
    while True:
        time.sleep(1)
"""


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The history database: a SQLite file, or a fresh database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "h.sqlite")
    return str(request.getfixturevalue("postgres_db"))


def _store(db: str) -> EnvPoolStore:
    return EnvPoolStore(HistoryStore.open(db))


def _jobs(tmp_path: Path, db: str, n: int, ttl: float, hold: bool) -> list[subprocess.Popen[str]]:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    start = tmp_path / "start"
    _store(db)  # the schema exists before the race, as after any first run
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), db, str(start), str(ttl), "hold" if hold else "exit"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    start.touch()
    return procs


def _first_line(proc: subprocess.Popen[str]) -> object:
    assert proc.stdout is not None
    return json.loads(proc.stdout.readline())


def test_parallel_processes_never_share_an_environment(tmp_path: Path, db: str) -> None:
    procs = _jobs(tmp_path, db, 7, ttl=600, hold=True)
    try:
        results = [_first_line(p) for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert not [r for r in results if isinstance(r, dict) and "error" in r], results
    leases = [r for r in results if r is not None]
    assert sorted(r["name"] for r in leases) == ["a", "b", "c"]  # type: ignore[index]
    assert results.count(None) == 4
    states = {s.name: s for s in _store(db).list("p")}
    assert {s.state for s in states.values()} == {"leased"}
    assert {s.lease_id for s in states.values()} == {r["lease_id"] for r in leases}  # type: ignore[index]


def test_a_crashed_jobs_lease_is_recovered_after_its_ttl(tmp_path: Path, db: str) -> None:
    store = _store(db)
    [proc] = _jobs(tmp_path, db, 1, ttl=2, hold=True)
    first = _first_line(proc)
    assert isinstance(first, dict)
    os.kill(proc.pid, signal.SIGKILL)  # the job crashes: it never renews or releases
    proc.wait()
    one = EnvPool.model_validate({"ttl": 60, "environments": {first["name"]: {}}})
    assert store.try_lease("p", one, "next-job") is None  # still within its TTL
    deadline = time.monotonic() + 60
    got = None
    while got is None and time.monotonic() < deadline:
        got = store.try_lease("p", one, "next-job")
        time.sleep(0.1)
    assert got is not None, "the stale lease was never recovered"
    assert got.recovered_from == f"job-{proc.pid}"
    assert got.name == first["name"]
    with pytest.raises(UsageError, match="is not held"):
        store.renew(first["lease_id"], 60)  # the crashed job's lease is gone for good


def test_renew_release_and_rotation(db: str) -> None:
    store = _store(db)
    first = store.lease("p", POOL, "j1")
    assert first.env == {"STACK": first.name}
    renewed = store.renew(first.lease_id, 3600)
    assert renewed.expires_at > first.expires_at
    assert store.release(first.lease_id) is True
    assert store.release(first.lease_id) is False
    # rotation: the environment just used goes to the back of the queue
    names = []
    for k in range(3):
        got = store.lease("p", POOL, f"j{k}")
        names.append(got.name)
        store.release(got.lease_id)
    assert first.name not in names[:2] and sorted(names) == ["a", "b", "c"]


def test_an_exhausted_pool_says_who_holds_what(db: str) -> None:
    store = _store(db)
    for k in range(3):
        store.lease("p", POOL, f"holder-{k}")
    with pytest.raises(PoolExhausted, match=r"every environment of pool 'p' is leased: .*holder-0"):
        store.lease("p", POOL, "late", wait=0.6)


def test_the_shipped_pools_file_loads_and_a_bad_one_points_at_the_line(tmp_path: Path) -> None:
    pools = load_env_pools(ROOT / "continuous-testing/config/environments.yaml").pools
    assert pools and all(p.environments for p in pools.values())
    bad = tmp_path / "environments.yaml"
    bad.write_text("pools:\n  x:\n    ttl: soon\n    environments: {a: {}}\n")
    with pytest.raises(ConfigError) as err:
        load_env_pools(bad)
    assert err.value.line == 3


def _ctt(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CTT_HISTORY_URL": str(tmp_path / "h.sqlite")}
    return subprocess.run(
        [sys.executable, "-m", "ctt", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


POOLS_FILE = """\
pools:
  stacks:
    ttl: 5m
    environments:
      s1: {env: {CTT_STATE_DIR: /tmp/s1}}
"""


def test_cli_lease_list_release(tmp_path: Path) -> None:
    conf = tmp_path / "continuous-testing/config/environments.yaml"
    conf.parent.mkdir(parents=True)
    conf.write_text(POOLS_FILE)
    lease = _ctt(tmp_path, "env", "lease", "stacks", "--json")
    assert lease.returncode == 0, lease.stderr
    doc = json.loads(lease.stdout)
    assert doc["name"] == "s1" and doc["env"] == {"CTT_STATE_DIR": "/tmp/s1"}
    busy = _ctt(tmp_path, "env", "lease", "stacks")
    assert busy.returncode == 3 and "every environment of pool 'stacks' is leased" in busy.stderr
    listed = json.loads(_ctt(tmp_path, "env", "list", "--json").stdout)
    assert [(e["name"], e["state"]) for e in listed] == [("s1", "leased")]
    assert _ctt(tmp_path, "env", "renew", doc["lease_id"], "--ttl", "1h").returncode == 0
    assert _ctt(tmp_path, "env", "release", doc["lease_id"]).returncode == 0
    again = _ctt(tmp_path, "env", "release", doc["lease_id"])
    assert again.returncode == 2 and "is not held" in again.stderr
    shell = _ctt(tmp_path, "env", "lease", "stacks", "--shell")
    assert (
        "export CTT_STATE_DIR=/tmp/s1" in shell.stdout and "export CTT_ENV_LEASE=" in shell.stdout
    )
    unknown = _ctt(tmp_path, "env", "lease", "stackz")
    assert unknown.returncode == 2 and "did you mean 'stacks'" in unknown.stderr


def test_ctt_run_env_pool_gives_the_suite_the_environment_and_releases_it(tmp_path: Path) -> None:
    conf = tmp_path / "continuous-testing/config/environments.yaml"
    conf.parent.mkdir(parents=True)
    conf.write_text(POOLS_FILE)
    cmd = (
        """echo "<testsuite name='e'><testcase name='$CTT_ENV_NAME-$CTT_STATE_DIR'/></testsuite>" """
        '> "$CTT_JUNIT_PATH"'
    )
    (tmp_path / "suites.yaml").write_text(
        "suites:\n  envcheck: {kind: command, command: " + json.dumps(cmd) + "}\n"
    )
    done = _ctt(
        tmp_path, "run", "--suite", "envcheck", "--catalogue", "suites.yaml", "--env-pool", "stacks"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    junit = (tmp_path / "test-results/junit-envcheck.xml").read_text()
    assert "s1-/tmp/s1" in junit
    listed = json.loads(_ctt(tmp_path, "env", "list", "--json").stdout)
    assert [(e["name"], e["state"], e["leases"]) for e in listed] == [("s1", "free", 1)]

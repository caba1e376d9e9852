"""``ctt run`` on a cluster ctt did not start: a second real stack, reached by URL only.

The fixture starts a second stack (its own state dir and ports, Kafka with a SASL/PLAIN
listener) and puts a small reverse proxy in front of its SQL Gateway that refuses any
request without ``Authorization: Bearer <token>``. The ``ctt`` processes under test see
none of the stack's state (their ``CTT_STATE_DIR`` is an empty directory): only the
proxy's URL, the REST URL, the SASL listener and its credentials, from a profile file or
from ``CTT_*`` variables.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.server
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from ctt.config.cluster import load_cluster
from ctt.engines.flink_rest import FlinkRest
from ctt.flinktest.remote_run import RemoteTarget
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.naming import job_name, new_run_id, run_id_of, run_id_of_job
from ctt.polling import Backoff
from ctt.stack import certs
from ctt.stack.settings import StackSettings
from ctt.stack.state import StackState
from ctt.stack.supervisor import LocalStack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
SASL_USER, SASL_PASSWORD = "ctt", "ctt-test-secret"  # of the test's own throwaway broker
BASIC_USER = "ci-runner"
RUN_ID = re.compile(r"\brun (\d{8}t\d{6}-[0-9a-f]{6})\b")


@contextlib.contextmanager
def _state_dir(path: Path) -> Iterator[None]:
    """``CTT_STATE_DIR`` for the calls inside: the second stack lives apart from the first."""
    old = os.environ.get("CTT_STATE_DIR")
    os.environ["CTT_STATE_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CTT_STATE_DIR", None)
        else:
            os.environ["CTT_STATE_DIR"] = old


class AuthProxy:
    """A reverse proxy that forwards only requests whose ``Authorization`` header is
    ``expected`` (``Bearer <token>``, ``Basic <base64>``), as an ingress in front of a
    cluster's SQL Gateway or REST API would."""

    def __init__(self, upstream: str, expected: str) -> None:
        target = httpx.URL(upstream)
        self.allowed = 0
        self.refused = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                if self.headers.get("Authorization") != expected:
                    proxy.refused += 1
                    body = b'{"errors": ["missing or wrong credentials"]}'
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                proxy.allowed += 1
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "authorization", "connection")
                }
                conn = http.client.HTTPConnection(target.host, target.port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=data, headers=headers)
                    resp = conn.getresponse()
                    payload = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Remote:
    """The second stack as a remote cluster: what a user would be given, nothing more."""

    def __init__(self, state: StackState, proxy: AuthProxy, token: str, work: Path) -> None:
        self.state = state
        self.proxy = proxy
        self.token = token
        self.work = work
        self.basic_password = secrets.token_urlsafe(12)
        basic = "Basic " + base64.b64encode(f"{BASIC_USER}:{self.basic_password}".encode()).decode()
        self.basic_gateway = AuthProxy(state.gateway_url, basic)
        self.basic_rest = AuthProxy(state.flink_rest_url, basic)
        assert state.sasl_bootstrap_servers is not None
        self.bootstrap = state.sasl_bootstrap_servers
        self.profile = work / "cluster.yaml"
        self.profile.write_text(
            "flink:\n"
            f"  gateway_url: {proxy.url}\n"
            f"  rest_url: {state.flink_rest_url}\n"
            "  gateway_auth: bearer\n"
            "kafka:\n"
            f"  bootstrap_servers: {self.bootstrap}\n"
            "  security_protocol: SASL_PLAINTEXT\n"
            "  sasl_mechanism: PLAIN\n"
            f"  sasl_username: {SASL_USER}\n"
        )

    def _bare_env(self) -> dict[str, str]:
        """No ``CTT_*`` of the developer's, and an empty state dir: no stack to find."""
        empty = self.work / f"no-stack-{secrets.token_hex(3)}"
        empty.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CTT_")}
        return {**env, "CTT_STATE_DIR": str(empty), "COLUMNS": "400"}

    def env(self, *, profile: bool) -> dict[str, str]:
        """The environment of a ``ctt`` process: no stack state, the cluster by URL only."""
        env = self._bare_env()
        env.update(
            CTT_GATEWAY_TOKEN=self.token,
            CTT_KAFKA_SASL_PASSWORD=SASL_PASSWORD,
        )
        if profile:
            env["CTT_PROFILE"] = str(self.profile)
        else:
            env.update(
                CTT_GATEWAY_URL=self.proxy.url,
                CTT_FLINK_REST_URL=self.state.flink_rest_url,
                CTT_KAFKA_BOOTSTRAP=self.bootstrap,
                CTT_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                CTT_KAFKA_SASL_MECHANISM="PLAIN",
                CTT_KAFKA_SASL_USERNAME=SASL_USER,
            )
        return env

    def admin(self) -> TopicAdmin:
        return TopicAdmin(self.state.bootstrap_servers)  # the test's own view, plaintext

    def close(self) -> None:
        for proxy in (self.proxy, self.basic_gateway, self.basic_rest):
            proxy.close()

    def secured(self, ca: Path) -> dict[str, str]:
        """A profile and environment for TLS + SCRAM-SHA-512 to Kafka and basic auth on
        the gateway and the REST API (both behind proxies, one set of credentials)."""
        assert self.state.sasl_ssl_bootstrap_servers is not None
        profile = self.work / f"secured-{secrets.token_hex(3)}.yaml"
        profile.write_text(
            "flink:\n"
            f"  gateway_url: {self.basic_gateway.url}\n"
            f"  rest_url: {self.basic_rest.url}\n"
            "  gateway_auth: basic\n"
            "  rest_auth: gateway\n"
            "kafka:\n"
            f"  bootstrap_servers: {self.state.sasl_ssl_bootstrap_servers}\n"
            "  security_protocol: SASL_SSL\n"
            "  sasl_mechanism: SCRAM-SHA-512\n"
            f"  sasl_username: {SASL_USER}\n"
            f"  ssl_ca_location: {ca}\n"
        )
        return {
            **self._bare_env(),
            "CTT_PROFILE": str(profile),
            "CTT_GATEWAY_USERNAME": BASIC_USER,
            "CTT_GATEWAY_PASSWORD": self.basic_password,
            "CTT_KAFKA_SASL_PASSWORD": SASL_PASSWORD,
        }

    def rest(self) -> FlinkRest:
        return FlinkRest(self.state.flink_rest_url)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    """A second stack on other ports; reused when ``CTT_TEST_REMOTE_STATE_DIR`` names one that
    runs (a developer's, started with the same SASL user), else started and stopped here."""
    given = os.environ.get("CTT_TEST_REMOTE_STATE_DIR")
    state_dir = Path(given) if given else tmp_path_factory.mktemp("remote-stack")
    settings = StackSettings(
        slots=4, kafka_sasl_users={SASL_USER: SecretStr(SASL_PASSWORD)}, kafka_tls=True
    )
    sup = LocalStack(settings)
    with _state_dir(state_dir):
        state, started = sup.up()
    if state.sasl_bootstrap_servers is None or state.sasl_ssl_bootstrap_servers is None:
        pytest.fail(
            f"the stack in {state_dir} has no SASL or SASL_SSL listener: start it with "
            "kafka_sasl_users and kafka_tls"
        )
    token = secrets.token_urlsafe(16)
    remote = Remote(
        state,
        AuthProxy(state.gateway_url, f"Bearer {token}"),
        token,
        tmp_path_factory.mktemp("remote-work"),
    )
    try:
        yield remote
    finally:
        remote.close()
        if started:
            with _state_dir(state_dir):
                sup.down()


def _ctt(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctt", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )


class _Run:
    """One ``ctt run`` process; its output read as it comes (the run id is on an early line)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], work: Path) -> None:
        self.results = work / f"{name}.json"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ctt",
                "run",
                *args,
                "--junit",
                str(work / f"{name}.xml"),
                "--results",
                str(self.results),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self.run_id: str | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            m = RUN_ID.search(line)
            if m and self.run_id is None:
                self.run_id = m.group(1)

    def wait(self) -> int:
        code = self.proc.wait(timeout=600)
        self._reader.join(timeout=10)
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.results.read_text())
        return data


def _owned(remote: Remote) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Run id -> its topics, and run id -> its live jobs, as the cluster lists them now."""
    topics: dict[str, set[str]] = {}
    for t in remote.admin().list():
        rid = run_id_of(t)
        if rid:
            topics.setdefault(rid, set()).add(t)
    jobs: dict[str, set[str]] = {}
    rest = remote.rest()
    try:
        for j in rest.jobs():
            rid = run_id_of_job(str(j.get("name", "")))
            if rid and j.get("state") in ("RUNNING", "CREATED", "INITIALIZING"):
                jobs.setdefault(rid, set()).add(str(j["jid"]))
    finally:
        rest.close()
    return topics, jobs


def test_two_runs_at_once_share_the_cluster_and_clean_only_their_own(remote: Remote) -> None:
    work = remote.work
    # Resources of others on the same cluster: a team's topic and a third ctt run's topic.
    other_run = new_run_id()
    foreign = {"team-x.orders": 1, f"ctt.{other_run}.someone.orders": 1}
    remote.admin().create(foreign)

    # A: one test, profile file. B: three tests, CTT_* variables, keeps its topics.
    a = _Run(
        "a",
        [str(SPECS / "basic_field_transformation.yaml"), "-p", "2"],
        remote.env(profile=True),
        work,
    )
    b_specs = [
        "user_events_transformed.yaml",
        "stream_join.yaml",
        "basic_field_transformation.yaml",
    ]
    b = _Run(
        "b",
        [*(str(SPECS / s) for s in b_specs), "-p", "2", "--keep-topics"],
        remote.env(profile=False),
        work,
    )
    # A ends first as a rule: B's topics must then be there, though A's cleanup has run.
    b_topics_when_a_ended: set[str] | None = None
    end = time.monotonic() + 600
    backoff = Backoff(0.5)
    while a.proc.poll() is None and time.monotonic() < end:
        backoff.wait()
    if b.proc.poll() is None and b.run_id:
        topics, _jobs = _owned(remote)
        b_topics_when_a_ended = topics.get(b.run_id, set())
    codes = {"a": a.wait(), "b": b.wait()}
    assert codes == {"a": 0, "b": 0}, f"A:\n{a.output}\nB:\n{b.output}"
    ra, rb = a.report(), b.report()
    assert ra["engine"] == rb["engine"] == "remote"
    assert ra["run_id"] != rb["run_id"]
    assert (a.run_id, b.run_id) == (ra["run_id"], rb["run_id"])
    assert [t["status"] for t in ra["tests"]] == ["passed"]
    assert [t["status"] for t in rb["tests"]] == ["passed"] * 3
    for report in (ra, rb):
        for t in report["tests"]:
            produced = [ln for ln in t["log"] if "produced" in ln]
            assert produced and all(f"ctt.{report['run_id']}." in ln for ln in produced)
    if b_topics_when_a_ended is not None:  # A's cleanup (per test and at its end) spared B's
        assert b_topics_when_a_ended, f"run B had no topics left when run A finished:\n{a.output}"
    written = [p.read_text() for p in work.glob("[ab].*")]  # results JSON and JUnit XML
    for text in (a.output, b.output, *written):
        assert SASL_PASSWORD not in text and remote.token not in text
    # The gateway saw every call of both runs with the token, none without.
    assert remote.proxy.allowed > 0 and remote.proxy.refused == 0

    topics, jobs = _owned(remote)
    assert ra["run_id"] not in topics, "run A deleted its topics at its end"
    assert len(topics.get(rb["run_id"], set())) >= 2 * 3, "run B kept its topics (--keep-topics)"
    assert not jobs.get(ra["run_id"]) and not jobs.get(rb["run_id"])

    # ctt cleanup --run-id A (already clean) touches nothing of B, of the third run or the team.
    env = remote.env(profile=True)
    done = _ctt("cleanup", "--run-id", ra["run_id"], "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["topics"] == []
    listed = remote.admin().list()
    assert topics[rb["run_id"]] <= set(listed)
    assert set(foreign) <= set(listed)

    # ctt cleanup --run-id B removes exactly B's.
    done = _ctt("cleanup", "--run-id", rb["run_id"], "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)["topics"]) == topics[rb["run_id"]]
    listed = remote.admin().list()
    assert not topics[rb["run_id"]] & set(listed)
    assert set(foreign) <= set(listed)
    remote.admin().delete(foreign)


class _Jobs:
    """Jobs submitted straight to the gateway, as another pipeline (or a lost handle) would."""

    def __init__(self, remote: Remote) -> None:
        self.http = httpx.Client(base_url=remote.state.gateway_url, timeout=30)
        opened = self.http.post("/v3/sessions", json={"properties": {}}).json()
        self.session = opened["sessionHandle"]
        self.rest = remote.rest()
        self.ids: list[str] = []
        self._sql(
            "CREATE TABLE src (x INT) WITH ('connector' = 'datagen', 'rows-per-second' = '1')"
        )
        self._sql("CREATE TABLE snk (x INT) WITH ('connector' = 'blackhole')")

    def _sql(self, sql: str, config: dict[str, str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"statement": sql, "executionConfig": config or {}}
        op = self.http.post(f"/v3/sessions/{self.session}/statements", json=body).json()
        uri = f"/v3/sessions/{self.session}/operations/{op['operationHandle']}/result/0"
        end = time.monotonic() + 120
        backoff = Backoff(0.2)
        while time.monotonic() < end:
            page: dict[str, Any] = self.http.get(uri, params={"rowFormat": "JSON"}).json()
            if page.get("resultType") != "NOT_READY":
                return page
            backoff.wait()
        raise AssertionError(f"{sql!r} gave no result in 120 s")

    def start(self, name: str) -> str:
        page = self._sql("INSERT INTO snk SELECT x FROM src", {"pipeline.name": name})
        job_id = str(page["jobID"])
        self.ids.append(job_id)
        return job_id

    def close(self) -> None:
        for job_id in self.ids:
            with contextlib.suppress(Exception):
                if self.rest.state(job_id) not in ("CANCELED", "FINISHED", "FAILED"):
                    self.rest.cancel(job_id)
        self.rest.close()
        self.http.delete(f"/v3/sessions/{self.session}")
        self.http.close()


def test_a_job_ctt_did_not_name_survives_any_cleanup(remote: Remote) -> None:
    """Even ``--older-than 0s`` (every ctt run) leaves a job and a topic without a run id."""
    env = remote.env(profile=False)
    other_run = new_run_id()
    remote.admin().create({"team-y.events": 1, f"ctt.{other_run}.t.events": 1})
    jobs = _Jobs(remote)
    try:
        job_id = jobs.start("team-y-pipeline")
        done = _ctt("cleanup", "--older-than", "0s", "--json", env=env)
        assert done.returncode == 0, done.stderr
        removed = json.loads(done.stdout)
        assert f"ctt.{other_run}.t.events" in removed["topics"]
        assert "team-y.events" not in removed["topics"] and job_id not in removed["jobs"]
        assert jobs.rest.state(job_id) == "RUNNING"
        assert "team-y.events" in remote.admin().list()
    finally:
        jobs.close()
        remote.admin().delete(["team-y.events"])


def test_the_end_of_run_sweep_takes_only_its_own(remote: Remote) -> None:
    """What a run sweeps at its end: its own topics and jobs (a lost handle), no one else's."""
    env = remote.env(profile=False)
    mine, theirs = new_run_id(), new_run_id()
    topics = {f"ctt.{mine}.t.a": 1, f"ctt.{theirs}.t.a": 1}
    remote.admin().create(topics)
    jobs = _Jobs(remote)
    try:
        lost = jobs.start(job_name(mine, "lost-abc123"))
        other = jobs.start(job_name(theirs, "busy-def456"))
        target = RemoteTarget(load_cluster(env=env), run_id=mine, say=lambda _m: None, env=env)
        found = target.cleanup()
        assert found.topics == [f"ctt.{mine}.t.a"] and found.jobs == [lost]
        listed = remote.admin().list()
        assert f"ctt.{mine}.t.a" not in listed and f"ctt.{theirs}.t.a" in listed
        assert jobs.rest.state(other) == "RUNNING"
        end, backoff = time.monotonic() + 30, Backoff(0.5)  # the REST API caches job status
        while jobs.rest.state(lost) not in ("CANCELLING", "CANCELED"):
            assert time.monotonic() < end, f"job {lost} of run {mine} was not cancelled"
            backoff.wait()
    finally:
        jobs.close()
        remote.admin().delete(list(topics))


def test_a_wrong_token_is_refused_with_what_to_check(remote: Remote) -> None:
    env = {**remote.env(profile=True), "CTT_GATEWAY_TOKEN": "not-the-token"}
    refused = remote.proxy.refused
    done = _ctt(
        "run",
        str(SPECS / "basic_field_transformation.yaml"),
        "--junit",
        str(remote.work / "wrong.xml"),
        "--results",
        str(remote.work / "wrong.json"),
        env=env,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads((remote.work / "wrong.json").read_text())
    message = report["tests"][0]["message"]
    assert "refused ctt: HTTP 401" in message
    assert remote.proxy.refused > refused
    assert "not-the-token" not in done.stdout + done.stderr + message


def test_parallel_defaults_to_the_free_slots(remote: Remote) -> None:
    env = remote.env(profile=True)
    said: list[str] = []
    target = RemoteTarget(load_cluster(env=env), run_id=new_run_id(), say=said.append, env=env)
    free = target.capacity().free_slots
    assert free is not None and target.capacity().total_slots == 4
    assert target.parallel(None) == max(1, free)
    assert said[-1].startswith(f"{free} of 4 TaskManager slots free")
    assert target.parallel(9) == 9 and "wait for a slot" in said[-1]
    capped = load_cluster(env={**env, "CTT_MAX_PARALLEL": "1"})
    assert RemoteTarget(capped, run_id=new_run_id(), say=said.append, env=env).parallel(None) == 1


def test_elastic_slots_submit_without_waiting_for_a_free_one(remote: Remote) -> None:
    """Native Kubernetes starts TaskManagers on demand: /overview's free slots say nothing."""
    env = {**remote.env(profile=True), "CTT_FLINK_ELASTIC_SLOTS": "true", "CTT_MAX_PARALLEL": "6"}
    said: list[str] = []
    target = RemoteTarget(load_cluster(env=env), run_id=new_run_id(), say=said.append, env=env)
    assert target.parallel(None) == 6 and said[-1].startswith("elastic slots")
    engine = target.engines()
    try:
        capacity = engine.capacity()
        assert capacity.available and capacity.free_slots is None
    finally:
        engine.close()
    plain = RemoteTarget(
        load_cluster(env=remote.env(profile=True)),
        run_id=new_run_id(),
        say=said.append,
        env=remote.env(profile=True),
    )
    engine = plain.engines()
    try:
        assert engine.capacity().total_slots == 4  # without the option: the cluster's count
    finally:
        engine.close()


def test_tls_scram_and_basic_auth_on_gateway_and_rest_api(remote: Remote) -> None:
    """Kafka over SASL_SSL with SCRAM-SHA-512 and the stack CA's PEM file (ctt's clients and
    Flink's tables), the gateway and REST API behind basic auth; a wrong CA is refused at
    once with the handshake's own words, every test reported."""
    ca = remote.state.kafka_ca_file
    assert ca is not None and ca.is_file()
    env = remote.secured(ca)
    gateway_seen, rest_seen = remote.basic_gateway.allowed, remote.basic_rest.allowed
    run = _Run(
        "secured",
        [str(SPECS / "basic_field_transformation.yaml"), str(SPECS / "stream_join.yaml"), "-p", "2"],
        env,
        remote.work,
    )
    assert run.wait() == 0, run.output
    report = run.report()
    assert [t["status"] for t in report["tests"]] == ["passed", "passed"]
    assert "Kafka " + str(remote.state.sasl_ssl_bootstrap_servers) + " (SASL_SSL)" in run.output
    assert "(auth basic)" in run.output
    assert remote.basic_gateway.allowed > gateway_seen and remote.basic_gateway.refused == 0
    assert remote.basic_rest.allowed > rest_seen and remote.basic_rest.refused == 0
    for secret in (SASL_PASSWORD, remote.basic_password):
        assert secret not in run.output and secret not in run.results.read_text()
    # Flink's own Kafka clients (the tables' source and sink) went through the TLS listener.
    tm_log = (remote.state.run_dir / "logs" / "taskmanager.log").read_text(errors="replace")
    assert f"ssl.truststore.location = {ca}" in tm_log
    assert "security.protocol = SASL_SSL" in tm_log and "sasl.mechanism = SCRAM-SHA-512" in tm_log

    # A CA that did not sign the broker's certificate: refused before any test, each reported.
    foreign = certs.issue(remote.work / "foreign-ca").ca
    bad_env = remote.secured(foreign)
    started = time.monotonic()
    bad = _Run("wrong-ca", [str(SPECS / "basic_field_transformation.yaml")], bad_env, remote.work)
    assert bad.wait() == 3, bad.output
    assert time.monotonic() - started < 30  # not each test's Kafka timeout
    assert "certificate verify failed" in bad.output
    [only] = bad.report()["tests"]
    assert only["status"] == "error" and only["error_kind"] == "infra"
    assert only["message"].startswith("not run: cannot reach Kafka at ")

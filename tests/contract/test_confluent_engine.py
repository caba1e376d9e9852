"""ctt's Confluent Cloud engine against a server that enforces Confluent's OpenAPI specs.

Every test runs behind the ``server`` fixture, which fails the test if any
request the client sent or any response the server produced violates the spec.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import httpx
import pytest

from ctt.engines.base import EngineError, FlinkEngine, Phase, StatementError, StatementHandle
from ctt.engines.confluent import (
    ROUTES,
    WRITABLE_SPEC_FIELDS,
    ConfluentEngine,
    ConfluentSettings,
)
from ctt.engines.confluent_dialect import ConfluentDialectError, is_valid_statement_name
from ctt.errors import ConfigError
from tests.contract.confluent_server import ERRATA
from tests.contract.conftest import Sleeps, make_settings

SEED_WINDOWED = """CREATE TABLE user_activity_summary AS
SELECT
  user_id,
  TUMBLE_START(event_timestamp, INTERVAL '1' HOUR) as window_start,
  COUNT(*) as event_count
FROM user_events
GROUP BY user_id, TUMBLE(event_timestamp, INTERVAL '1' HOUR)"""


def _stored(server: Any, handle: StatementHandle) -> dict[str, Any]:
    body: dict[str, Any] = server.app.statements[handle.name].body
    return body


def _calls(server: Any, method: str, suffix: str = "") -> int:
    return sum(1 for m, p, _ in server.app.calls if m == method and p.endswith(suffix))


# --------------------------------------------------------------------------- spec honesty


def test_every_route_the_client_uses_exists_in_the_spec(spec_docs: dict[str, Any]) -> None:
    for name, route in ROUTES.items():
        paths = spec_docs[route.spec]["paths"]
        assert route.path in paths, f"{name}: {route.path} not in {route.spec}"
        assert route.method.lower() in paths[route.path], f"{name}: {route.method} not declared"


def test_writable_spec_fields_are_the_specs_non_read_only_fields(spec_docs: dict[str, Any]) -> None:
    props = spec_docs["flink-gateway-openapi.yaml"]["components"]["schemas"][
        "sql.v1.StatementSpec"
    ]["properties"]
    assert {k for k, v in props.items() if not v.get("readOnly")} == WRITABLE_SPEC_FIELDS


def test_phases_are_the_specs_phases(spec_docs: dict[str, Any]) -> None:
    schema = spec_docs["flink-gateway-openapi.yaml"]["components"]["schemas"][
        "sql.v1.StatementStatus"
    ]
    assert schema["properties"]["phase"]["x-extensible-enum"] == [p.value for p in Phase]


@pytest.mark.parametrize("erratum", ERRATA, ids=lambda e: e.why[:40])
def test_each_erratum_still_applies_to_the_published_spec(
    erratum: Any, spec_docs: dict[str, Any]
) -> None:
    """When Confluent fixes its spec this fails: drop the erratum."""
    assert erratum.apply(copy.deepcopy(spec_docs[erratum.spec])), erratum.why


def test_the_server_rejects_requests_and_responses_outside_the_spec(server: Any) -> None:
    settings = make_settings(server.url)
    path = ROUTES["create_statement"].path.format(
        organization_id=settings.org_id, environment_id=settings.env_id
    )
    resp = httpx.post(server.url + path, json={"name": "x"}, auth=("k", "s"))
    assert resp.status_code == 400
    resp = httpx.get(server.url + "/not/in/the/spec", auth=("k", "s"))
    assert resp.status_code == 404
    assert len(server.app.violations) == 2
    server.app.violations.clear()
    # a response without status.phase is caught too
    app = server.app
    from openapi_core.testing import MockRequest

    req = MockRequest(app.servers["flink-gateway-openapi.yaml"], "get", path + "/x")
    app._send("flink-gateway-openapi.yaml", req, 200, {"name": "x", "status": {}})
    assert app.violations and "phase" in app.violations[0]
    app.violations.clear()


# --------------------------------------------------------------------------- lifecycle


def test_engine_satisfies_the_protocol(engine: ConfluentEngine) -> None:
    assert isinstance(engine, FlinkEngine)


def test_submit_sends_pool_principal_and_catalog_properties(
    server: Any, engine: ConfluentEngine
) -> None:
    handle = engine.submit("SELECT 1", name="ctt-run1-basic", properties={"sql.state-ttl": "1 h"})
    body = _stored(server, handle)
    assert body["spec"]["compute_pool_id"] == "lfcp-00001"
    assert body["spec"]["principal"] == "sa-123"
    assert body["spec"]["properties"] == {
        "sql.current-catalog": "env-abc123",
        "sql.current-database": "lkc-xyz",
        "sql.state-ttl": "1 h",
    }
    assert handle.engine_ref["created_at"]


def test_status_walks_pending_running_completed(engine: ConfluentEngine) -> None:
    handle = engine.submit("SELECT 1", name="ctt-run1-walk")
    phases = [engine.status(handle).phase for _ in range(4)]
    assert phases == [Phase.PENDING, Phase.RUNNING, Phase.COMPLETED, Phase.COMPLETED]


def test_failed_statement_reports_detail_and_exceptions(
    server: Any, engine: ConfluentEngine
) -> None:
    server.app.script("ctt-run1-bad", ["PENDING", "FAILED"], detail="Column 'x' not found")
    handle = engine.submit("SELECT x FROM t", name="ctt-run1-bad")
    engine.status(handle)
    status = engine.status(handle)
    assert status.phase is Phase.FAILED
    assert status.detail == "Column 'x' not found"
    assert [e.message for e in engine.exceptions(handle)] == ["Column 'x' not found"]


def test_unknown_phase_is_a_clear_engine_error(server: Any, engine: ConfluentEngine) -> None:
    server.app.script("ctt-run1-new", ["WARPING"])
    handle = engine.submit("SELECT 1", name="ctt-run1-new")
    with pytest.raises(EngineError, match="phase 'WARPING'") as info:
        engine.status(handle)
    assert "known: PENDING" in str(info.value)


def test_results_follow_next_through_empty_pages_and_map_ops(
    server: Any, engine: ConfluentEngine, sleeps: Sleeps
) -> None:
    handle = engine.submit("SELECT * FROM t", name="ctt-run1-rows")
    server.app.results[handle.name] = [
        [{"op": 0, "row": ["a", 1]}],
        [],
        [],
        [{"row": ["b", 2]}, {"op": 1, "row": ["a", 1]}, {"op": 2, "row": ["a", 3]}],
        [{"op": 3, "row": ["b", 2]}],
    ]
    rows = [(r.op, r.fields) for r in engine.results(handle)]
    assert rows == [
        ("+I", ["a", 1]),
        ("+I", ["b", 2]),
        ("-U", ["a", 1]),
        ("+U", ["a", 3]),
        ("-D", ["b", 2]),
    ]
    assert _calls(server, "GET", "/results") == 5
    assert sleeps == [0.0, 0.0]  # one poll wait per empty page that had a next


def test_unknown_result_op_is_an_engine_error(server: Any, engine: ConfluentEngine) -> None:
    handle = engine.submit("SELECT 1", name="ctt-run1-op")
    server.app.results[handle.name] = [[{"op": 9, "row": [1]}]]
    with pytest.raises(EngineError, match="unknown result op 9"):
        list(engine.results(handle))


def test_stop_and_resume_retry_on_409(server: Any, engine: ConfluentEngine) -> None:
    server.app.script("ctt-run1-ins", ["PENDING", "RUNNING"])
    handle = engine.submit("INSERT INTO sink SELECT * FROM src", name="ctt-run1-ins")
    server.app.conflicts[handle.name] = 2
    assert engine.stop(handle) is None
    assert engine.status(handle).phase is Phase.STOPPED
    assert _calls(server, "PUT") == 3  # two conflicts, then accepted
    server.app.conflicts[handle.name] = 1
    engine.resume(handle)
    assert _calls(server, "PUT") == 5
    assert _stored(server, handle)["spec"]["stopped"] is False


def test_stop_gives_up_after_bounded_conflicts(server: Any, engine: ConfluentEngine) -> None:
    server.app.script("ctt-run1-busy", ["RUNNING"])
    handle = engine.submit("INSERT INTO sink SELECT * FROM src", name="ctt-run1-busy")
    server.app.conflicts[handle.name] = 100
    with pytest.raises(EngineError, match="changed on every attempt"):
        engine.stop(handle)
    assert _calls(server, "PUT") == engine.settings.max_retries + 1


def test_stopping_a_completed_statement_is_a_no_op(server: Any, engine: ConfluentEngine) -> None:
    server.app.script("ctt-run1-done", ["COMPLETED"])
    handle = engine.submit("SELECT 1", name="ctt-run1-done")
    engine.stop(handle)
    assert _calls(server, "PUT") == 0


def test_select_cannot_be_resumed(engine: ConfluentEngine) -> None:
    handle = engine.submit("SELECT 1", name="ctt-run1-sel")
    with pytest.raises(StatementError, match="cannot be resumed"):
        engine.resume(handle)


def test_delete_waits_for_404_and_is_idempotent(server: Any, engine: ConfluentEngine) -> None:
    handle = engine.submit("SELECT 1", name="ctt-run1-del")
    server.app.delete_lag = 3
    engine.delete(handle)
    assert handle.name not in server.app.statements
    assert server.app.calls[-1][2] == 404
    engine.delete(handle)  # already gone: fine
    assert server.app.calls[-1] == (
        "DELETE",
        server.app.calls[-1][1],
        404,
    )


def test_delete_that_never_finishes_hits_the_deadline(server: Any, sleeps: Sleeps) -> None:
    ticks = iter(range(1000))
    eng = ConfluentEngine(
        make_settings(server.url, wait_timeout_s=3), sleep=sleeps, clock=lambda: float(next(ticks))
    )
    handle = eng.submit("SELECT 1", name="ctt-run1-stuck")
    server.app.delete_lag = 10**6
    with pytest.raises(EngineError, match="still exists"):
        eng.delete(handle)
    eng.close()


# --------------------------------------------------------------------------- errors and retries


def test_sql_rejected_at_create_is_a_statement_error_with_line(engine: ConfluentEngine) -> None:
    with pytest.raises(StatementError) as info:
        engine.submit("SELECT\n  a,\n  SYNTAX ERROR\nFROM t", name="ctt-run1-syntax")
    assert info.value.sql_line == 3
    assert "SQL parse failed" in str(info.value)
    assert info.value.exit_code == 2


def test_401_names_the_key_variables(server: Any, engine: ConfluentEngine) -> None:
    server.app.inject("GET", r"/statements/ctt-run1-auth$", status=401)
    handle = engine.submit("SELECT 1", name="ctt-run1-auth")
    with pytest.raises(EngineError, match="HTTP 401") as info:
        engine.status(handle)
    assert "CONFLUENT_FLINK_API_KEY" in str(info.value)
    assert info.value.exit_code == 3


def test_429_on_get_backs_off_with_bounded_jitter(
    server: Any, engine: ConfluentEngine, sleeps: Sleeps
) -> None:
    handle = engine.submit("SELECT 1", name="ctt-run1-rate")
    server.app.inject("GET", r"/statements/ctt-run1-rate$", status=429, times=3)
    assert engine.status(handle).phase is Phase.PENDING
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps):
        assert 0 <= slept <= min(8.0, 0.5 * 2**attempt)
    assert len(set(sleeps)) == 3  # jittered, not a fixed delay


def test_429_forever_gives_up_with_a_hint(server: Any, engine: ConfluentEngine) -> None:
    handle = engine.submit("SELECT 1", name="ctt-run1-rate2")
    server.app.inject("GET", r"/statements/ctt-run1-rate2$", status=429, times=100)
    with pytest.raises(EngineError, match="HTTP 429") as info:
        engine.status(handle)
    assert "parallelism" in str(info.value)
    assert _calls(server, "GET") == engine.settings.max_retries + 1


def test_429_on_create_looks_before_posting_again(server: Any, engine: ConfluentEngine) -> None:
    server.app.inject("POST", r"/statements$", status=429, times=1)
    handle = engine.submit("SELECT 1", name="ctt-run1-post")
    assert [m for m, _, _ in server.app.calls] == ["POST", "GET", "POST"]
    assert handle.name in server.app.statements


def test_lost_create_response_is_reconciled_not_duplicated(server: Any, sleeps: Sleeps) -> None:
    """The POST reached the server but the answer was lost: adopt the statement."""
    real = httpx.HTTPTransport()
    dropped = []

    class DropFirstCreateResponse(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = real.handle_request(request)
            if request.method == "POST" and not dropped:
                dropped.append(request)
                response.read()
                raise httpx.ReadTimeout("lost", request=request)
            return response

    eng = ConfluentEngine(
        make_settings(server.url), transport=DropFirstCreateResponse(), sleep=sleeps
    )
    handle = eng.submit("SELECT 1", name="ctt-run1-lost")
    assert [m for m, _, _ in server.app.calls] == ["POST", "GET"]
    assert handle.name == "ctt-run1-lost"
    eng.close()


def test_name_taken_by_another_statement_is_a_statement_error(engine: ConfluentEngine) -> None:
    engine.submit("SELECT 1", name="ctt-run1-dup")
    with pytest.raises(StatementError, match="already exists"):
        engine.submit("SELECT 2", name="ctt-run1-dup")
    # the same statement again is adopted, not an error
    assert engine.submit("SELECT 1", name="ctt-run1-dup").name == "ctt-run1-dup"


def test_unreachable_endpoint_is_translated(sleeps: Sleeps) -> None:
    eng = ConfluentEngine(make_settings("http://127.0.0.1:9", max_retries=1), sleep=sleeps)
    with pytest.raises(EngineError, match="cannot reach Confluent Cloud") as info:
        eng.status(StatementHandle(name="x", sql="SELECT 1"))
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert len(sleeps) == 1
    eng.close()


# --------------------------------------------------------------------------- client-side SQL


def test_set_and_use_are_folded_never_sent(server: Any, engine: ConfluentEngine) -> None:
    handle = engine.submit("SET 'sql.state-ttl' = '2 h'", name="ctt-run1-set")
    assert engine.status(handle).phase is Phase.COMPLETED
    engine.submit("USE `other-cluster`", name="ctt-run1-use")
    assert server.app.calls == []
    created = engine.submit(
        "SET 'table.exec.source.idle-timeout' = '5 s';\nSELECT 1;", name="ctt-run1-q"
    )
    props = _stored(server, created)["spec"]["properties"]
    assert props["sql.state-ttl"] == "2 h"
    assert props["sql.current-database"] == "other-cluster"
    assert props["table.exec.source.idle-timeout"] == "5 s"
    assert _stored(server, created)["spec"]["statement"] == "SELECT 1"
    for stmt in server.app.statements.values():
        assert not stmt.body["spec"]["statement"].upper().startswith(("SET", "USE"))


def test_legacy_window_is_rewritten_and_proctime_refused_before_any_request(
    server: Any, engine: ConfluentEngine
) -> None:
    handle = engine.submit(SEED_WINDOWED, name="ctt-run1-win")
    sent = _stored(server, handle)["spec"]["statement"]
    assert "TABLE(TUMBLE(TABLE user_events, DESCRIPTOR(event_timestamp)" in sent
    assert handle.sql == sent
    calls = len(server.app.calls)
    with pytest.raises(ConfluentDialectError, match="PROCTIME"):
        engine.submit("SELECT PROCTIME() AS p FROM t", name="ctt-run1-proc")
    assert len(server.app.calls) == calls


def test_two_statements_in_one_submit_are_refused(engine: ConfluentEngine) -> None:
    with pytest.raises(StatementError, match="one statement per request"):
        engine.submit("SELECT 1; SELECT 2", name="ctt-run1-two")


def test_run_scoped_names_become_valid_statement_names(
    server: Any, engine: ConfluentEngine
) -> None:
    raw = "CTT_Run_20260101T000000_" + "windowed_aggregation_" * 6
    handle = engine.submit("SELECT 1", name=raw)
    assert is_valid_statement_name(handle.name)
    assert handle.name in server.app.statements
    assert len(handle.name) <= 100


# --------------------------------------------------------------------------- pools, metrics, listing


def test_list_statements_follows_pages_and_filters_by_prefix(
    server: Any, engine: ConfluentEngine
) -> None:
    for i in range(5):
        engine.submit("SELECT 1", name=f"ctt-old-{i}")
    engine.submit("SELECT 1", name="other-1")
    server.app.page_size_cap = 2
    names = [s.name for s in engine.list_statements("ctt-old-")]
    assert names == [f"ctt-old-{i}" for i in range(5)]
    assert _calls(server, "GET", "/statements") == 3  # 6 statements, 2 per page


def test_compute_pool_ensure_finds_or_creates(server: Any, engine: ConfluentEngine) -> None:
    created = engine.ensure_compute_pool("ctt-pool", cloud="aws", region="us-east-1", max_cfu=10)
    assert created.phase == "PROVISIONING" and created.max_cfu == 10
    again = engine.ensure_compute_pool("ctt-pool", cloud="aws", region="us-east-1")
    assert again.id == created.id
    assert engine.compute_pool(created.id).display_name == "ctt-pool"
    assert _calls(server, "POST", "/compute-pools") == 1


def test_compute_pools_need_a_cloud_key(server: Any) -> None:
    eng = ConfluentEngine(make_settings(server.url, cloud_api_key=None, cloud_api_secret=None))
    with pytest.raises(ConfigError, match="CONFLUENT_CLOUD_API_KEY"):
        eng.compute_pool()
    assert "unavailable" in eng.metrics(StatementHandle(name="x", sql="SELECT 1")).raw
    eng.close()


def test_metrics_map_to_statement_metrics(server: Any, engine: ConfluentEngine) -> None:
    handle = engine.submit("INSERT INTO s SELECT * FROM t", name="ctt-run1-m")
    server.app.metrics = {
        "io.confluent.flink/num_records_in": [{"timestamp": "2026-01-01T00:00:00Z", "value": 250}],
        "io.confluent.flink/num_records_out": [{"timestamp": "2026-01-01T00:00:00Z", "value": 240}],
        "io.confluent.flink/current_input_watermark_milliseconds": [
            {"timestamp": "2026-01-01T00:01:00Z", "value": 1767225660000},
            {"timestamp": "2026-01-01T00:00:00Z", "value": 1767225600000},
        ],
    }
    m = engine.metrics(handle)
    assert (m.records_in, m.records_out, m.watermark_ms) == (250, 240, 1767225660000)
    assert m.raw["pending_records"] is None
    assert _calls(server, "POST", "/v2/metrics/cloud/query") == 4  # one aggregation per query


# --------------------------------------------------------------------------- settings


def test_settings_error_names_every_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(__import__("os").environ):
        if var.startswith("CONFLUENT_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("CONFLUENT_FLINK_API_KEY", "k")
    monkeypatch.setenv("CONFLUENT_FLINK_API_SECRET", "s")
    monkeypatch.setenv("CONFLUENT_ENV_ID", "env-1")
    with pytest.raises(ConfigError) as info:
        ConfluentSettings.from_env()
    assert str(info.value).startswith("CONFLUENT_ORG_ID, CONFLUENT_COMPUTE_POOL_ID are not set")
    assert "\n" not in str(info.value)
    monkeypatch.setenv("CONFLUENT_ORG_ID", "o")
    monkeypatch.setenv("CONFLUENT_COMPUTE_POOL_ID", "lfcp-1")
    with pytest.raises(ConfigError, match="CONFLUENT_FLINK_REST_ENDPOINT"):
        ConfluentSettings.from_env()
    monkeypatch.setenv("CONFLUENT_REGION", "us-east-1")
    monkeypatch.setenv("CONFLUENT_CLOUD", "AWS")
    monkeypatch.setenv("CONFLUENT_KAFKA_CLUSTER_ID", "lkc-9")
    settings = ConfluentSettings.from_env()
    assert settings.flink_endpoint() == "https://flink.us-east-1.aws.confluent.cloud"
    assert settings.statement_properties() == {
        "sql.current-catalog": "env-1",
        "sql.current-database": "lkc-9",
    }
    assert "s" not in repr(settings.flink_api_secret)


def test_from_env_builds_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "FLINK_API_KEY": "k",
        "FLINK_API_SECRET": "s",
        "ORG_ID": "o",
        "ENV_ID": "env-1",
        "COMPUTE_POOL_ID": "lfcp-1",
        "FLINK_REST_ENDPOINT": "https://flink.example.invalid/",
    }.items():
        monkeypatch.setenv("CONFLUENT_" + key, value)
    eng = ConfluentEngine.from_env()
    assert eng.name == "confluent"
    assert str(eng._flink.base_url) == "https://flink.example.invalid"
    eng.close()


def test_random_is_seedable_for_reproducible_backoff(server: Any) -> None:
    a, b = Sleeps(), Sleeps()
    for sleeps in (a, b):
        eng = ConfluentEngine(make_settings(server.url), sleep=sleeps, rng=random.Random(1))
        for _ in range(3):
            eng._backoff(2)
        eng.close()
    assert a == b


def test_degraded_with_an_exception_carries_its_cause(server: Any, engine: ConfluentEngine) -> None:
    server.app.script("ctt-run1-deg", ["DEGRADED"], detail="restarting: / by zero")
    status = engine.status(engine.submit("SELECT 1", name="ctt-run1-deg"))
    assert status.phase is Phase.DEGRADED
    assert status.cause is not None and status.cause.message == "restarting: / by zero"
    server.app.script("ctt-run1-deg2", ["DEGRADED"])  # no exception recorded: no cause
    assert engine.status(engine.submit("SELECT 1", name="ctt-run1-deg2")).cause is None


def test_one_line_per_phase_change_and_one_per_finished_ddl(server: Any, sleeps: Sleeps) -> None:
    lines: list[str] = []
    eng = ConfluentEngine(make_settings(server.url), sleep=sleeps, say=lines.append)
    eng.run("CREATE TABLE t (a INT) WITH ('value.format' = 'json-registry')")
    handle = eng.submit("INSERT INTO t SELECT 1", name="ctt-run1-job")
    for _ in range(4):
        eng.status(handle)
    eng.delete(handle)
    eng.close()
    assert lines[0].endswith(": COMPLETED (CREATE)") and lines[0].startswith(
        "confluent statement ctt-run-"
    )
    assert lines[1:] == [
        "confluent statement ctt-run1-job: PENDING",
        "confluent statement ctt-run1-job: RUNNING",
        "confluent statement ctt-run1-job: COMPLETED",
        "confluent statement ctt-run1-job: deleted",
    ]


def test_kafka_tables_become_topics_and_views_are_dropped_at_close(
    server: Any, sleeps: Sleeps
) -> None:
    eng = ConfluentEngine(make_settings(server.url), sleep=sleeps, name_prefix="ctt-r1")
    eng.run(
        "CREATE TABLE src (a INT) WITH ('connector' = 'kafka', 'topic' = 'ctt.r1.t.src', "
        "'properties.bootstrap.servers' = 'b:9092', 'format' = 'json')"
    )
    eng.run("CREATE TEMPORARY VIEW `__ctt_out` AS SELECT a FROM src")
    sent = [b["spec"]["statement"] for b in server.app.created]
    assert sent[0].startswith("CREATE TABLE `ctt.r1.t.src` (")
    assert "'connector'" not in sent[0] and "'changelog.mode' = 'append'" in sent[0]
    assert sent[1].startswith("CREATE VIEW `ctt-r1-") and "FROM `ctt.r1.t.src`" in sent[1]
    view = eng.catalog.views[0]
    eng.close()
    assert server.app.created[-1]["spec"]["statement"] == f"DROP VIEW IF EXISTS `{view}`"
    assert all(b["name"].startswith("ctt-r1-") for b in server.app.created)


def test_delete_prefixed_removes_only_the_runs_statements(
    server: Any, engine: ConfluentEngine
) -> None:
    for name in ("ctt-runa-1", "ctt-runa-job", "ctt-runb-1"):
        engine.submit("SELECT 1", name=name)
    assert sorted(engine.delete_prefixed("ctt-runa-")) == ["ctt-runa-1", "ctt-runa-job"]
    assert [s.name for s in engine.list_statements("ctt-")] == ["ctt-runb-1"]

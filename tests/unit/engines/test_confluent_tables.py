"""Kafka-connector DDL <-> Confluent tables, table renaming, and what only the local engine runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.config.spec import TableDef
from ctt.engines.confluent_dialect import to_confluent
from ctt.engines.confluent_tables import (
    ConfluentCatalog,
    parse_create_table,
    rename_tables,
)
from ctt.errors import ConfigError
from ctt.flinktest.confluent_run import KafkaSettings, confluent_target, local_only
from ctt.sql import ddl
from ctt.validate.registry import load_spec
from tests.contract.executor import Registry, register_table_schemas, to_kafka_ddl
from tests.contract.schema_registry import RegistryApp

TOPIC = "ctt.20261202t000000-abc123.t-1a2b3c.user_events"
SPECS = Path(__file__).resolve().parents[3] / "specs"


def _table(**kw: object) -> TableDef:
    return TableDef.model_validate(
        {"schema": {"user_id": "STRING", "event_timestamp": "TIMESTAMP(3)"}, **kw}
    )


def test_a_kafka_source_becomes_a_confluent_table_named_after_its_topic() -> None:
    cat = ConfluentCatalog("ctt-run-x")
    local = ddl.source_table(
        "user_events", _table(), topic=TOPIC, bootstrap="b:9092", bounded={0: 5}
    )
    out = cat.translate(local)
    parsed = parse_create_table(out)
    assert parsed is not None and parsed.name == TOPIC
    assert parsed.options["changelog.mode"] == "append"
    assert parsed.options["value.format"] == "avro-registry"  # framed by ctt.kafka.registry
    assert parsed.options["scan.bounded.specific-offsets"] == "partition:0,offset:5"
    assert not any(k in parsed.options for k in ("connector", "topic", "format"))
    assert not any(k.startswith("properties.") for k in parsed.options)
    to_confluent(out)  # the dialect accepts what the catalog writes
    assert cat.names == {"user_events": TOPIC}


def test_keyed_upsert_and_retract_tables_keep_their_changelog() -> None:
    cat = ConfluentCatalog("p")
    keyed = parse_create_table(
        cat.translate(ddl.source_table("k", _table(key=["user_id"]), topic="t1", bootstrap="b"))
    )
    assert keyed is not None and keyed.distributed_by == ["user_id"]
    upsert = parse_create_table(
        cat.translate(
            ddl.source_table("u", _table(primary_key=["user_id"]), topic="t2", bootstrap="b")
        )
    )
    assert upsert is not None and upsert.options["changelog.mode"] == "upsert"
    assert "PRIMARY KEY" in upsert.columns
    sink = ddl.sink_table(
        "s", [("a", "BIGINT")], topic="t3", bootstrap="b", mode=ddl.SinkMode.RETRACT
    )
    retract = parse_create_table(cat.translate(sink))
    assert retract is not None and retract.options["changelog.mode"] == "retract"


SR = Registry("http://sr:8081", "K:S", RegistryApp())


def _as_registry_avro(options: dict[str, str]) -> dict[str, str]:
    """Local Kafka-connector options with each JSON format as Schema Registry Avro."""
    out: dict[str, str] = {}
    for k, v in options.items():
        if k.endswith("json.timestamp-format.standard"):
            continue
        if k.endswith("format") and v == "json":
            prefix = k.removesuffix("format")
            out |= {
                k: "avro-confluent",
                f"{prefix}avro-confluent.url": SR.url,
                f"{prefix}avro-confluent.basic-auth.credentials-source": "USER_INFO",
                f"{prefix}avro-confluent.basic-auth.user-info": SR.user_info,
            }
        else:
            out[k] = v
    return out


@pytest.mark.parametrize(
    "table",
    [_table(), _table(key=["user_id"]), _table(primary_key=["user_id"])],
    ids=["append", "keyed", "upsert"],
)
def test_the_contract_server_gets_back_the_connector_the_local_engine_would_use(
    table: TableDef,
) -> None:
    """The same connector, keys and offsets; JSON becomes Schema Registry Avro on both sides."""
    registry = Registry(SR.url, SR.user_info, RegistryApp())
    local = ddl.source_table("user_events", table, topic=TOPIC, bootstrap="b:9092")
    confluent = ConfluentCatalog("p").translate(local)
    back = parse_create_table(to_kafka_ddl(confluent, "b:9092", registry))
    want = parse_create_table(local)
    assert back is not None and want is not None
    assert back.name == TOPIC
    assert back.options == _as_registry_avro(want.options)
    # and, as Confluent Cloud's CREATE TABLE does, the table's schemas are registered
    subjects = register_table_schemas(confluent, registry.app)
    keyed = bool(table.key or table.primary_key)
    assert subjects == [f"{TOPIC}-value", *([f"{TOPIC}-key"] if keyed else [])]


def test_later_statements_read_the_renamed_tables_but_not_columns_or_strings() -> None:
    sql = (
        "INSERT INTO out SELECT e.user_id, 'user_events' AS src, user_events.user_id "
        "FROM user_events e JOIN TABLE(TUMBLE(TABLE user_events, DESCRIPTOR(ts), "
        "INTERVAL '1' HOUR)) w ON TRUE"
    )
    out = rename_tables(sql, {"user_events": "T.x", "out": "O", "user_id": "never"})
    assert "INSERT INTO `O`" in out
    assert "FROM `T.x` e" in out and "TABLE `T.x`," in out
    assert "'user_events' AS src" in out
    assert "`T.x`.user_id" in out and "e.user_id" in out


def test_temporary_views_become_session_unique_views_the_engine_drops() -> None:
    cat = ConfluentCatalog("ctt-r-1")
    cat.translate(ddl.source_table("user_events", _table(), topic=TOPIC, bootstrap="b"))
    view = cat.translate("CREATE TEMPORARY VIEW `__ctt_out` AS SELECT * FROM user_events")
    assert view == f"CREATE VIEW `ctt-r-1-ctt_out` AS SELECT * FROM `{TOPIC}`"
    assert cat.translate("DESCRIBE `__ctt_out`") == "DESCRIBE `ctt-r-1-ctt_out`"
    assert cat.views == ["ctt-r-1-ctt_out"]


def test_ddl_that_is_not_a_kafka_table_passes_to_the_dialect_unchanged() -> None:
    sql = "CREATE TABLE t (a INT) WITH ('connector' = 'datagen')"
    assert ConfluentCatalog("p").translate(sql) == sql


@given(st.text(max_size=200))
def test_parsing_never_raises(text: str) -> None:
    parse_create_table(text)
    rename_tables(text, {"a": "b"})


def test_proctime_specs_are_local_only_with_a_reason() -> None:
    (lt,) = load_spec(SPECS / "user_events_transformed.yaml")
    reason = local_only(lt)
    assert reason is not None and "PROCTIME()" in reason and "SQL line" in reason
    for lt in load_spec(SPECS / "windows" / "hop_cumulate.yaml"):
        if lt.test.name == "hop_legacy":  # the legacy window would be rewritten, but ...
            reason = local_only(lt)
            assert reason is not None and "late-records-dropped" in reason
    for lt in load_spec(SPECS / "templated_event_aggregation.yaml"):
        assert local_only(lt) is None


# every setting a run needs, as Terraform outputs would give them
OVERRIDES = {
    "flink_api_key": "k",
    "flink_api_secret": "s",
    "org_id": "o",
    "env_id": "env-1",
    "compute_pool_id": "lfcp-from-terraform",
    "flink_rest_endpoint": "http://127.0.0.1:1",
    "kafka_bootstrap": "pkc.example:9092",
    "schema_registry_url": "https://psrc.example",
}


def test_settings_name_every_missing_variable_and_overrides_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("CONFLUENT_FLINK_API_KEY", "CONFLUENT_KAFKA_BOOTSTRAP", "CONFLUENT_ORG_ID"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="CONFLUENT_FLINK_API_KEY"):
        confluent_target(run_id="r", say=print)
    target = confluent_target(run_id="r", say=print, overrides=OVERRIDES)
    assert target.settings.compute_pool_id == "lfcp-from-terraform"
    assert target.kafka.bootstrap_servers == "pkc.example:9092"
    assert target.kafka.config == {}
    assert target.registry_settings.url == "https://psrc.example"


def test_a_run_without_schema_registry_says_which_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONFLUENT_SCHEMA_REGISTRY_URL", raising=False)
    without = {k: v for k, v in OVERRIDES.items() if k != "schema_registry_url"}
    with pytest.raises(ConfigError, match=r"^CONFLUENT_SCHEMA_REGISTRY_URL is not set"):
        confluent_target(run_id="r", say=print, overrides=without)


def test_a_kafka_api_key_means_sasl_ssl() -> None:
    conf = KafkaSettings(bootstrap="b:9092", api_key="KEY", api_secret="SECRET").client_config()
    assert conf["security.protocol"] == "SASL_SSL" and conf["sasl.username"] == "KEY"
    assert conf["sasl.password"] == "SECRET"


def test_a_column_alias_named_like_a_table_keeps_its_name() -> None:
    sql = (
        "SELECT window_start, COUNT(*) AS orders, clicks FROM orders, clicks AS c, "
        "(SELECT * FROM orders) WHERE orders.id > 0"
    )
    out = rename_tables(sql, {"orders": "O", "clicks": "C"})
    assert "COUNT(*) AS orders, clicks FROM `O`, `C` AS c" in out
    assert "(SELECT * FROM `O`)" in out and "WHERE `O`.id" in out


def test_bounded_upsert_tables_stay_bounded_on_the_way_back() -> None:
    local = ddl.source_table(
        "u", _table(primary_key=["user_id"]), topic="t", bootstrap="b", bounded={0: 3}
    )
    back = parse_create_table(to_kafka_ddl(ConfluentCatalog("p").translate(local), "b", SR))
    want = parse_create_table(local)
    assert back is not None and want is not None
    assert back.options == _as_registry_avro(want.options)


@pytest.mark.parametrize(
    ("spec", "section"),
    [
        ("errors/malformed_orders.yaml", "error_handling"),
        ("errors/poison_record.yaml", "error_handling"),
        ("state/checkpointing.yaml", "checkpoint"),
        ("table_api/user_programs.yaml", "table_api"),
    ],
)
def test_sections_the_confluent_engine_does_not_run_are_refused_by_name(
    spec: str, section: str
) -> None:
    for lt in load_spec(SPECS / spec):
        reason = local_only(lt)
        assert reason is not None and section in reason


def test_a_sink_spec_is_refused_by_name_in_one_line() -> None:
    (lt,) = load_spec(SPECS / "sink" / "hourly_spend_upsert.yaml")
    reason = local_only(lt)
    assert reason is not None and reason.startswith("sink: ") and "\n" not in reason
    assert "docs/confluent-cloud.md" in reason

"""Confluent dialect: rewrites are mechanical and exact, refusals say what to do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.engines.confluent_dialect import (
    MAX_STATEMENT_NAME,
    ConfluentDialectError,
    fold_client_side,
    is_valid_statement_name,
    rewrite_legacy_group_windows,
    split_statements,
    statement_kind,
    statement_name,
    to_confluent,
)

SEED_WINDOWED = """CREATE TABLE user_activity_summary AS
SELECT
  user_id,
  TUMBLE_START(event_timestamp, INTERVAL '1' HOUR) as window_start,
  COUNT(*) as event_count,
  SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) as purchase_count
FROM user_events
GROUP BY user_id, TUMBLE(event_timestamp, INTERVAL '1' HOUR);
"""


def test_seed_windowed_aggregation_becomes_a_tumble_tvf() -> None:
    out = to_confluent(SEED_WINDOWED)
    assert out.rewrites == ["legacy group window -> window TVF"]
    assert (
        "FROM TABLE(TUMBLE(TABLE user_events, DESCRIPTOR(event_timestamp), INTERVAL '1' HOUR))"
        in out.sql
    )
    assert "GROUP BY user_id, window_start, window_end;" in out.sql
    assert "  window_start as window_start," in out.sql
    assert "TUMBLE_START" not in out.sql
    # untouched parts stay byte for byte
    assert "SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) as purchase_count" in out.sql


def test_hop_keeps_slide_then_size_and_end_maps_to_window_end() -> None:
    sql = (
        "SELECT HOP_END(ts, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE) AS e, COUNT(*) "
        "FROM t GROUP BY HOP(ts, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)"
    )
    assert rewrite_legacy_group_windows(sql) == (
        "SELECT window_end AS e, COUNT(*) FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), "
        "INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)) GROUP BY window_start, window_end"
    )


def test_session_partitions_by_the_other_keys_and_keeps_alias_and_where() -> None:
    sql = (
        "SELECT k, SESSION_ROWTIME(e.ts, INTERVAL '5' MINUTE) AS rt FROM cat.db.events AS e "
        "WHERE x > 1 GROUP BY k, SESSION(e.ts, INTERVAL '5' MINUTE) HAVING COUNT(*) > 2"
    )
    assert rewrite_legacy_group_windows(sql) == (
        "SELECT k, window_time AS rt FROM TABLE(SESSION(TABLE cat.db.events PARTITION BY k, "
        "DESCRIPTOR(ts), INTERVAL '5' MINUTE)) AS e WHERE x > 1 GROUP BY k, window_start, "
        "window_end HAVING COUNT(*) > 2"
    )


def test_window_tvf_and_plain_sql_are_left_alone() -> None:
    tvf = (
        "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), "
        "INTERVAL '1' HOUR)) GROUP BY window_start, window_end"
    )
    assert rewrite_legacy_group_windows(tvf) == tvf
    plain = "SELECT 'GROUP BY TUMBLE(x, y)' AS s FROM t -- TUMBLE(a, b)\n"
    assert rewrite_legacy_group_windows(plain) == plain


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        (
            "SELECT COUNT(*) FROM a JOIN b ON a.k = b.k GROUP BY TUMBLE(a.ts, INTERVAL '1' HOUR)",
            "join",
        ),
        ("SELECT COUNT(*) FROM (SELECT * FROM t) GROUP BY TUMBLE(ts, INTERVAL '1' HOUR)", "join"),
        (
            "SELECT 1 FROM t GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), HOP(ts, INTERVAL '1' HOUR, INTERVAL '2' HOUR)",
            "exactly one",
        ),
        (
            "SELECT TUMBLE_PROCTIME(ts, INTERVAL '1' HOUR) FROM t GROUP BY TUMBLE(ts, INTERVAL '1' HOUR)",
            "no equivalent",
        ),
        (
            "SELECT HOP_START(ts, INTERVAL '1' HOUR) FROM t GROUP BY TUMBLE(ts, INTERVAL '1' HOUR)",
            "does not match",
        ),
        ("SELECT TUMBLE_START(ts, INTERVAL '1' HOUR) FROM t", "exactly one"),
        ("SELECT 1 FROM t GROUP BY TUMBLE(ts)", "takes 2 arguments"),
    ],
)
def test_non_mechanical_legacy_windows_are_refused_with_advice(sql: str, needle: str) -> None:
    with pytest.raises(ConfluentDialectError) as info:
        rewrite_legacy_group_windows(sql)
    assert needle in str(info.value)
    assert info.value.exit_code == 2


def test_session_with_several_keys_partitions_by_a_parenthesised_list() -> None:
    out = rewrite_legacy_group_windows(
        "SELECT a, b, COUNT(*) FROM t GROUP BY a, b, SESSION(ts, INTERVAL '5' MINUTE)"
    )
    assert "TABLE(SESSION(TABLE t PARTITION BY (a, b), DESCRIPTOR(ts), INTERVAL '5' MINUTE))" in out


def test_window_refusals_name_the_line() -> None:
    sql = "SELECT k,\n  HOP_END(ts, INTERVAL '1' HOUR, INTERVAL '2' HOUR)\nFROM t\nGROUP BY TUMBLE(ts, x)"
    with pytest.raises(ConfluentDialectError, match="does not match") as info:
        to_confluent(sql)
    assert info.value.sql_line == 2
    assert "TABLE(TUMBLE(TABLE user_events" in (info.value.hint or "")


def test_proctime_is_refused_on_its_line_with_advice() -> None:
    sql = "CREATE TABLE x AS\nSELECT user_id,\n  PROCTIME() as processing_time\nFROM s;"
    with pytest.raises(ConfluentDialectError) as info:
        to_confluent(sql)
    assert info.value.sql_line == 3
    assert "$rowtime" in str(info.value)
    # the word in a string or as a column name is fine
    to_confluent("SELECT 'PROCTIME()' AS proctime FROM s")


@pytest.mark.parametrize(
    ("option", "needle"),
    [
        ("'connector' = 'kafka'", "tables are Kafka topics"),
        ("'value.format' = 'json'", "json-registry"),
    ],
)
def test_connector_options_and_plain_formats_are_refused(option: str, needle: str) -> None:
    with pytest.raises(ConfluentDialectError, match=needle):
        to_confluent(f"CREATE TABLE t (a INT) WITH (\n  {option}\n)")


def test_schema_registry_formats_pass() -> None:
    sql = "CREATE TABLE t (a INT) WITH ('value.format' = 'avro-registry', 'key.format' = 'raw')"
    assert to_confluent(sql).sql == sql


def test_set_and_use_fold_into_properties_in_order() -> None:
    folded = fold_client_side(
        "SET 'sql.state-ttl' = '1 h';\nUSE CATALOG `my env`;\nUSE `lkc-1`;\n"
        "SET 'sql.state-ttl' = '2 h';\nSELECT ';' FROM t;",
        base={"sql.local-time-zone": "UTC"},
    )
    assert folded.statements == ["SELECT ';' FROM t"]
    assert folded.properties == {
        "sql.local-time-zone": "UTC",
        "sql.state-ttl": "2 h",
        "sql.current-catalog": "my env",
        "sql.current-database": "lkc-1",
    }


def test_use_catalog_dot_database_and_bad_set() -> None:
    assert fold_client_side("USE env1.lkc1").properties == {
        "sql.current-catalog": "env1",
        "sql.current-database": "lkc1",
    }
    with pytest.raises(ConfluentDialectError, match="SET 'key' = 'value'"):
        fold_client_side("SET nonsense")


def test_split_respects_strings_comments_and_identifiers() -> None:
    sql = "SELECT 'a;b' FROM `x;y`; /* ; */ -- ;\nSELECT 2;;"
    assert split_statements(sql) == ["SELECT 'a;b' FROM `x;y`", "/* ; */ -- ;\nSELECT 2"]


def test_statement_kind() -> None:
    assert statement_kind(SEED_WINDOWED) == "CREATE_TABLE_AS"
    assert statement_kind("insert into t select 1") == "INSERT_INTO"
    assert statement_kind("EXECUTE STATEMENT SET BEGIN END") == "EXECUTE_STATEMENT_SET"
    assert statement_kind("CREATE TABLE t (a INT)") == "CREATE"
    assert statement_kind("SELECT 1") == "SELECT"


def test_statement_names_keep_valid_input_and_stay_distinct() -> None:
    assert statement_name("ctt-1a2b-basic.x") == "ctt-1a2b-basic.x"
    a, b = statement_name("Run_A"), statement_name("run-a")
    assert a != b and is_valid_statement_name(a)
    long_a, long_b = statement_name("a" * 150 + "1"), statement_name("a" * 150 + "2")
    assert long_a != long_b and len(long_a) == MAX_STATEMENT_NAME


@given(st.text(max_size=300))
def test_any_input_yields_a_valid_statement_name(raw: str) -> None:
    name = statement_name(raw)
    assert is_valid_statement_name(name)
    assert statement_name(name) == name


@given(st.text(alphabet="SELECT FROMtGROUPBYTUMBLE(),';`-\n*/_", max_size=120))
def test_rewriter_never_crashes_on_garbage(sql: str) -> None:
    try:
        out = to_confluent(sql)
    except ConfluentDialectError:
        return
    assert isinstance(out.sql, str)

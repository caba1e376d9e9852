"""Splitting scripts and recognising CTAS/INSERT; DDL generation; changelog mode parsing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ctt.config.spec import TableDef
from ctt.sql import ddl, statements
from ctt.sql.statements import Kind


def test_split_respects_quotes_and_comments() -> None:
    script = "SET 'a' = 'b';\n-- a comment; with a semicolon\nCREATE TABLE x AS SELECT ';' AS s\nFROM y; /* ; */ INSERT INTO z SELECT 1;"
    parts = statements.split(script)
    assert [p[0].split()[0] for p in parts] == ["SET", "CREATE", "INSERT"]
    assert parts[1][1] == 3  # line of CREATE


def test_parse_kinds_and_targets() -> None:
    stmts = statements.parse(
        "CREATE TABLE out1 AS\nSELECT a FROM b;\nINSERT INTO `out2` SELECT * FROM b;\nCREATE VIEW v AS SELECT 1;\nSET 'x.y' = '1';"
    )
    assert [(s.kind, s.target) for s in stmts] == [
        (Kind.CTAS, "out1"), (Kind.INSERT, "out2"), (Kind.OTHER, None), (Kind.SET, None)
    ]
    assert stmts[0].query == "SELECT a FROM b"
    assert statements.set_option(stmts[3]) == ("x.y", "1")


@given(st.lists(st.text(alphabet="abc ;'\n-", max_size=20), max_size=5))
def test_split_never_loses_non_space_text(chunks: list[str]) -> None:
    script = ";".join(chunks)
    for sql, line in statements.split(script):
        assert sql.strip() and line >= 1


def test_source_ddl_kafka_with_key_watermark_and_bounds() -> None:
    table = TableDef.model_validate({
        "schema": {"id": "BIGINT", "ts": "TIMESTAMP(3)"}, "key": "id", "watermark": "ts - INTERVAL '5' SECOND",
    })
    sql = ddl.source_table("events", table, topic="t1", bootstrap="b:1", bounded={0: 7})
    assert "'connector' = 'kafka'" in sql and "'key.fields' = 'id'" in sql
    assert "WATERMARK FOR `ts` AS `ts` - INTERVAL '5' SECOND" in sql
    assert "'scan.bounded.specific-offsets' = 'partition:0,offset:7'" in sql


def test_versioned_table_is_upsert_kafka_with_primary_key() -> None:
    table = TableDef.model_validate({"schema": {"id": "BIGINT", "ts": "TIMESTAMP(3)"}, "primary_key": "id",
                                     "versioned": True, "watermark": "ts"})
    sql = ddl.source_table("users", table, topic="t", bootstrap="b:1")
    assert "'connector' = 'upsert-kafka'" in sql and "PRIMARY KEY (`id`) NOT ENFORCED" in sql


def test_sink_modes() -> None:
    cols = [("a", "BIGINT NOT NULL"), ("p", "TIMESTAMP_LTZ(3) *PROCTIME*")]
    assert "debezium-json" in ddl.sink_table("o", cols, topic="t", bootstrap="b", mode=ddl.SinkMode.RETRACT)
    append = ddl.sink_table("o", cols, topic="t", bootstrap="b", mode=ddl.SinkMode.APPEND)
    assert "*PROCTIME*" not in append and "`p` TIMESTAMP_LTZ(3)" in append


def test_changelog_mode_reads_the_root_of_the_physical_plan() -> None:
    explain = "== Abstract Syntax Tree ==\nX\n== Optimized Physical Plan ==\nGroupAggregate(x, changelogMode=[I,UA])\n+- Calc(changelogMode=[I])"
    assert ddl.changelog_mode(explain) == ["I", "UA"]
    assert ddl.changelog_mode("== Optimized Physical Plan ==\nCalc(changelogMode=[I])") == ["I"]

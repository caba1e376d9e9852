"""Splitting scripts and recognising CTAS/INSERT; DDL generation; changelog mode parsing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ctt.config.spec import TableDef
from ctt.errors import snippet
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


SCRIPT = """-- the job
SET 'table.exec.emit.allow-lateness' = '1 min';

  CREATE TABLE out1
  WITH ('k' = 'v') AS
SELECT /*+ OPTIONS('a' = 'b') */ user_id,
       COUNT(*) AS n -- per user
FROM events GROUP BY user_id;
INSERT INTO `cat`.db.`out 2` SELECT * FROM out1;
"""


def test_statements_are_exact_slices_that_know_where_they_start() -> None:
    stmts = statements.parse(SCRIPT)
    for s in stmts:
        assert SCRIPT[s.offset : s.offset + len(s.sql)] == s.sql
        assert SCRIPT.splitlines()[s.line - 1][s.col - 1 :].startswith(s.sql.splitlines()[0])
    ctas = stmts[1]
    assert (ctas.kind, ctas.target, ctas.line, ctas.col) == (Kind.CTAS, "out1", 4, 3)
    assert "/*+ OPTIONS('a' = 'b') */" in ctas.sql and "-- per user" in ctas.sql  # hints survive
    assert ctas.query is not None and ctas.sql.endswith(ctas.query)
    assert ctas.query.startswith("SELECT /*+") and ctas.query.endswith("GROUP BY user_id")
    assert (stmts[2].kind, stmts[2].target, stmts[2].query) == (
        Kind.INSERT, "out 2", "SELECT * FROM out1"
    )
    assert statements.set_option(stmts[0]) == ("table.exec.emit.allow-lateness", "1 min")


def test_comments_in_the_head_do_not_hide_the_kind() -> None:
    (s,) = statements.parse("CREATE /* c */ TABLE x -- c\nAS SELECT 1")
    assert (s.kind, s.target, s.query) == (Kind.CTAS, "x", "SELECT 1")
    assert statements.parse("CREATE TABLE x (a INT) WITH ('k' = 'v')")[0].kind is Kind.OTHER
    assert statements.parse("SET")[0].kind is Kind.OTHER


def test_flink_positions_map_to_the_script() -> None:
    # Flink says "line 4, column 6" for COUNT in the CTAS it was sent
    assert statements.locate(SCRIPT, 1, 4, 8) == (7, 8)
    assert SCRIPT.splitlines()[6][7:].startswith("COUNT")
    # on a statement's first line the column is shifted by where the statement starts
    assert statements.locate(SCRIPT, 1, 1, 8) == (4, 10)
    stmts = statements.parse(SCRIPT)
    assert statements.locate(SCRIPT, stmts[2], 1, 13) == (9, 13)
    # ctt sent the CTAS's query as a view: positions in ctt's prefix clamp to the query
    prefix = "CREATE TEMPORARY VIEW `__ctt_out1` AS "
    assert statements.locate(SCRIPT, 1, 1, len(prefix) + 1, prefix=prefix) == (6, 1)
    assert statements.locate(SCRIPT, 1, 1, 3, prefix=prefix) == (6, 1)
    assert statements.locate(SCRIPT, 1, 2, 8, prefix=prefix) == (7, 8)
    # past the end of a line or of the statement: clamped, never outside the text
    assert statements.locate(SCRIPT, 2, 1, 999) == (9, 48)  # just after its last character
    assert statements.locate(SCRIPT, 2, 99, 1) == (9, 1)


def test_located_error_renders_a_caret_under_the_users_text() -> None:
    message = 'SQL validation failed. From line 4, column 8 to line 4, column 15: No match found'
    pos = statements.error_position(message)
    assert pos == (4, 8)
    line, col = statements.locate(SCRIPT, 1, *pos)
    assert snippet(SCRIPT, line, col).splitlines()[-2:] == [
        "7 |        COUNT(*) AS n -- per user",
        "  |        ^",
    ]
    assert statements.error_position("Encountered \"x\" at line 2, column 5.") == (2, 5)
    assert statements.error_position("no position") is None


@given(st.text(alphabet="ab ;'\n-/*`", max_size=60), st.integers(1, 5), st.integers(1, 30))
def test_locate_stays_inside_the_text(script: str, line: int, col: int) -> None:
    for i, s in enumerate(statements.parse(script)):
        got = statements.locate(script, i, line, col)
        start = (s.line, s.col)
        assert start <= got <= statements.locate(script, i, 10**6, 10**6)
        assert statements.locate(script, i, 1, 1) == start


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

"""SQL setup: Flink's rejections point at the user's file:line:col, with the lines and a caret."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.config.spec import LoadedTest, load_spec
from ctt.engines.base import ResultRow, StatementError
from ctt.errors import ConfigError
from ctt.flinktest import inputs as inputs_mod
from ctt.flinktest.plan_cache import PlanCache
from ctt.flinktest.sql_setup import SqlSetup, sql_source
from ctt.sql import statements


def flink_says(sent: str, word: str) -> StatementError:
    """What the gateway makes of Flink's answer when ``word`` in ``sent`` is not a column.

    Flink's text as the SQL Gateway returns it (``gateway.sql_error`` keeps the first
    user-facing cause); the positions count inside the statement ctt sent.
    """
    before = sent[: sent.index(word)]
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    end = col + len(word) - 1
    return StatementError(
        "ValidationException: SQL validation failed. "
        f"From line {line}, column {col} to line {line}, column {end}: "
        f"Column '{word}' not found in any table",
        sql_line=line,
    )


class Engine:
    """Answers DDL, DESCRIBE and EXPLAIN; rejects what contains ``typo`` as Flink would."""

    def __init__(self, typo: str, *, when: str = "") -> None:
        self.typo, self.when = typo, when
        self.ran: list[str] = []

    def run(self, sql: str, *, deadline_s: float = 120.0) -> list[ResultRow]:
        self.ran.append(sql)
        if self.typo in sql and sql.startswith(self.when):
            raise flink_says(sql, self.typo)
        if sql.startswith("DESCRIBE"):
            return [ResultRow(fields=["id", "BIGINT", True])]
        if sql.startswith("EXPLAIN"):
            return [ResultRow(fields=["changelogMode=[I]"])]
        return []


TABLES = """    tables:
      src:
        schema: {id: BIGINT, amount: DOUBLE}
    test_data:
      src:
        rows:
          - {id: 1, amount: 2.0}
"""


def write_spec(path: Path, sql_part: str) -> LoadedTest:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"flink_transformation_tests:\n  t:\n{sql_part}{TABLES}")
    (lt,) = load_spec(path)
    return lt


def prepare(lt: LoadedTest, engine: Engine) -> ConfigError:
    src = sql_source(lt)
    stmts = statements.parse(src.text)
    inputs = inputs_mod.build(lt.test, {"src"})
    setup = SqlSetup(engine, run_id="r", bootstrap="b")  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        setup.prepare(lt.test, src, stmts, inputs, {"src": "s", "out_t": "o"}, spec=lt.source_map)
    return info.value


def caret(err: ConfigError) -> list[str]:
    return (err.snippet or "").splitlines()[-2:]


def test_a_typo_in_inline_sql_points_at_the_spec_line_and_column(tmp_path: Path) -> None:
    lt = write_spec(
        tmp_path / "t.yaml",
        """    flink_sql: |
      CREATE TABLE out_t AS
      SELECT id,
             amout * 2 AS doubled
      FROM src;
""",
    )
    err = prepare(lt, Engine("amout"))
    # line 6 of the spec; the block is indented by 6, `amout` at column 8 of the SQL's line
    assert (err.file, err.line, err.col) == (str(tmp_path / "t.yaml"), 6, 14)
    assert str(err).startswith(f"{tmp_path / 't.yaml'}:6:14: Flink rejected the SQL: ")
    assert "Column 'amout' not found in any table" in str(err) and "\n" not in str(err)
    assert caret(err) == ["6 |              amout * 2 AS doubled", "  |              ^"]
    assert err.hint is None


def test_a_typo_on_the_ctas_first_line_is_shifted_by_the_view_prefix(tmp_path: Path) -> None:
    lt = write_spec(
        tmp_path / "t.yaml",
        """    flink_sql: |
      CREATE TABLE out_t AS SELECT id, amout FROM src;
""",
    )
    err = prepare(lt, Engine("amout"))
    assert (err.line, err.col) == (4, 40)
    assert caret(err)[1] == "  |" + " " * 40 + "^"


def test_a_rejected_view_of_the_users_own_points_into_it(tmp_path: Path) -> None:
    lt = write_spec(
        tmp_path / "t.yaml",
        """    flink_sql: |
      CREATE TEMPORARY VIEW v AS
        SELECT amout FROM src;
      CREATE TABLE out_t AS SELECT * FROM v;
""",
    )
    err = prepare(lt, Engine("amout", when="CREATE TEMPORARY VIEW v"))
    assert (err.line, err.col) == (5, 16)


def test_a_typo_in_a_template_points_at_the_template(tmp_path: Path) -> None:
    template = tmp_path / "flink" / "sql" / "t.sql"
    template.parent.mkdir(parents=True)
    template.write_text(
        "-- doubles it\nCREATE TABLE out_t AS\nSELECT id, amout * {{ k }} AS doubled\nFROM src;\n"
    )
    lt = write_spec(tmp_path / "specs" / "t.yaml", "    sql_template: t.sql\n    params: {k: 2}\n")
    err = prepare(lt, Engine("amout"))
    assert (err.file, err.line, err.col) == (str(template), 3, 12)
    assert caret(err) == ["3 | SELECT id, amout * 2 AS doubled", "  |            ^"]
    assert err.hint == "column of the line as rendered"  # `{{ k }}` became `2`


def test_a_template_whose_blocks_change_its_lines_says_the_position_is_rendered(
    tmp_path: Path,
) -> None:
    template = tmp_path / "flink" / "sql" / "t.sql"
    template.parent.mkdir(parents=True)
    template.write_text(
        "CREATE TABLE out_t AS\n"
        "{% if extra %}\n-- one\n-- two\n{% endif %}\n"
        "SELECT id, amout FROM src;\n"
    )
    lt = write_spec(
        tmp_path / "specs" / "t.yaml", "    sql_template: t.sql\n    params: {extra: false}\n"
    )
    err = prepare(lt, Engine("amout"))
    # rendered: line 1 CREATE, line 2 the `if` line's newline, line 3 SELECT
    assert (err.file, err.line, err.col) == (str(template), 3, 12)
    assert "rendered" in (err.hint or "")
    assert caret(err) == ["3 | SELECT id, amout FROM src;", "  |            ^"]


def test_a_rejected_source_table_points_at_its_declaration(tmp_path: Path) -> None:
    lt = write_spec(
        tmp_path / "t.yaml",
        "    flink_sql: |\n      CREATE TABLE out_t AS SELECT id FROM src;\n",
    )
    err = prepare(lt, Engine("amount", when="CREATE TABLE `src`"))
    assert (err.line, err.col) == (6, 7)
    assert "Flink rejected table 'src'" in err.message
    assert caret(err)[0].endswith("src:")


def test_a_statement_set_maps_to_the_insert_flink_points_into(tmp_path: Path) -> None:
    lt = write_spec(
        tmp_path / "t.yaml",
        """    flink_sql: |
      INSERT INTO a SELECT id FROM src;
      INSERT INTO b
      SELECT id, amout FROM src;
""",
    )
    lt.test.tables["a"] = lt.test.tables["b"] = lt.test.tables["src"]
    src = sql_source(lt)
    setup = SqlSetup(Engine("nothing"), run_id="r", bootstrap="b")  # type: ignore[arg-type]
    job, _, _ = setup.prepare(
        lt.test,
        src,
        statements.parse(src.text),
        inputs_mod.build(lt.test, {"src"}),
        {"src": "s", "a": "a", "b": "b"},
    )
    assert job.sql.startswith("EXECUTE STATEMENT SET BEGIN\nINSERT INTO a")
    err = job.rejected(flink_says(job.sql, "amout"), src)
    assert (err.line, err.col) == (6, 18)
    assert caret(err) == ["6 |       SELECT id, amout FROM src;", "  |                  ^"]


CTAS = """    flink_sql: |
      CREATE TABLE out_t AS SELECT id FROM src;
"""


def _plan_with(cache: PlanCache, lt: LoadedTest, topics: dict[str, str]) -> Engine:
    engine = Engine("never-there")
    src = sql_source(lt)
    stmts = statements.parse(src.text)
    inputs = inputs_mod.build(lt.test, {"src"})
    setup = SqlSetup(engine, run_id="r", bootstrap="b", plans=cache)  # type: ignore[arg-type]
    setup.prepare(lt.test, src, stmts, inputs, topics, spec=lt.source_map)
    return engine


def planning(engine: Engine) -> list[str]:
    return [s.split()[0] for s in engine.ran if s.startswith(("DESCRIBE", "EXPLAIN"))]


def test_the_second_test_with_the_same_sql_skips_describe_and_explain(tmp_path: Path) -> None:
    cache = PlanCache()
    lt = write_spec(tmp_path / "t.yaml", CTAS)
    first = _plan_with(cache, lt, {"src": "run1-a.src", "out_t": "run1-a.out_t"})
    second = _plan_with(cache, lt, {"src": "run1-b.src", "out_t": "run1-b.out_t"})
    assert planning(first) == ["DESCRIBE", "EXPLAIN"]
    assert planning(second) == []  # other topics, same SQL: planned once
    assert cache.hits == 1
    assert any("CREATE TABLE" in s and "run1-b.out_t" in s for s in second.ran)  # still its sink


def test_a_different_source_schema_is_planned_afresh(tmp_path: Path) -> None:
    cache = PlanCache()
    _plan_with(cache, write_spec(tmp_path / "a" / "t.yaml", CTAS), {"src": "a", "out_t": "b"})
    other = write_spec(tmp_path / "b" / "t.yaml", CTAS.replace("SELECT id", "SELECT id, amount"))
    assert planning(_plan_with(cache, other, {"src": "a", "out_t": "b"})) == ["DESCRIBE", "EXPLAIN"]
    assert cache.hits == 0


@given(
    st.text(alphabet="abc.-_0123456789", min_size=3, max_size=12),
    st.text(alphabet="abc.-_0123456789", min_size=3, max_size=12),
)
def test_keys_ignore_topic_names_and_offsets(topic_a: str, topic_b: str) -> None:
    def ddl(topic: str, offsets: str) -> str:
        return (
            f"CREATE TABLE src (id BIGINT) WITH ('topic' = '{topic}', "
            f"'scan.bounded.specific-offsets' = '{offsets}')"
        )

    a = PlanCache.key(
        [ddl(topic_a, "partition:0,offset:3")], "SELECT id FROM src", {"src": topic_a}
    )
    b = PlanCache.key(
        [ddl(topic_b, "partition:0,offset:9")], "SELECT id FROM src", {"src": topic_b}
    )
    assert a == b
    assert a != PlanCache.key([ddl(topic_a, "x")], "SELECT id + 1 FROM src", {"src": topic_a})


def test_every_kafka_table_ctt_creates_carries_the_clusters_kafka_settings(tmp_path: Path) -> None:
    """On a secured cluster Flink's tables need the client settings too (docs/user-guide.md)."""
    lt = write_spec(
        tmp_path / "t.yaml",
        """    flink_sql: |
      CREATE TABLE out_t AS SELECT id, amount FROM src;
""",
    )
    engine = Engine("no-such-word")
    src = sql_source(lt)
    props = {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}
    setup = SqlSetup(engine, run_id="r", bootstrap="b:9092", kafka_properties=props)  # type: ignore[arg-type]
    setup.prepare(
        lt.test,
        src,
        statements.parse(src.text),
        inputs_mod.build(lt.test, {"src"}),
        {"src": "s", "out_t": "o"},
        spec=lt.source_map,
    )
    tables = [sql for sql in engine.ran if sql.startswith("CREATE TABLE")]
    assert len(tables) == 2  # the source and the CTAS sink
    for sql in tables:
        assert "'properties.bootstrap.servers' = 'b:9092'" in sql
        assert "'properties.security.protocol' = 'SASL_SSL'" in sql
        assert "'properties.sasl.mechanism' = 'PLAIN'" in sql

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from ctt.sql.lineage import _KEYWORDS, render_loosely, sql_lineage

SEED_TRANSFORM = """
CREATE TABLE user_events_transformed AS
SELECT
  user_id,
  event_type,
  CAST(event_timestamp AS TIMESTAMP_LTZ(3)) as event_time,
  JSON_VALUE(payload, '$.product_id') as product_id,
  CASE
    WHEN event_type = 'purchase' THEN CAST(JSON_VALUE(payload, '$.amount') AS DECIMAL(10,2))
    ELSE 0.0
  END as purchase_amount,
  PROCTIME() as processing_time
FROM user_events_source
WHERE event_type IN ('purchase', 'view', 'click');
"""


def test_seed_ctas_reads_source_and_writes_target() -> None:
    lin = sql_lineage(SEED_TRANSFORM)
    assert lin.reads == {"user_events_source"}
    assert lin.writes == {"user_events_transformed"}


def test_temporal_join_reads_both_sides() -> None:
    lin = sql_lineage(
        "CREATE TABLE enriched_events AS SELECT e.user_id, u.user_name FROM events e "
        "JOIN users FOR SYSTEM_TIME AS OF e.event_timestamp AS u ON e.user_id = u.user_id;"
    )
    assert lin.reads == {"events", "users"}
    assert lin.writes == {"enriched_events"}


def test_ddl_declares_table_and_topic_without_writing() -> None:
    lin = sql_lineage(
        "CREATE TABLE src (id INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)"
        " WITH ('connector' = 'kafka', 'topic' = 'raw-events', 'format' = 'json');"
    )
    assert lin.declared == {"src"}
    assert lin.writes == frozenset()
    assert lin.topics == {"src": "raw-events"}


def test_insert_window_tvf_cte_and_comma_join() -> None:
    lin = sql_lineage(
        """
        INSERT INTO agg SELECT window_start, COUNT(*)
        FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
        GROUP BY window_start, window_end;
        WITH recent AS (SELECT * FROM orders), big AS (SELECT * FROM recent)
        INSERT OVERWRITE report SELECT * FROM big, customers c;
        """
    )
    assert lin.reads == {"clicks", "orders", "customers"}
    assert lin.writes == {"agg", "report"}


def test_function_from_keywords_are_not_tables() -> None:
    lin = sql_lineage(
        "INSERT INTO o SELECT EXTRACT(YEAR FROM ts), TRIM(BOTH ' ' FROM name),"
        " SUBSTRING(s FROM 1 FOR 2) FROM i"
    )
    assert lin.reads == {"i"}


def test_comments_and_strings_hide_sql() -> None:
    lin = sql_lineage(
        "-- INSERT INTO ghost SELECT * FROM nothing\n"
        "/* FROM hidden */ INSERT INTO real_t SELECT 'FROM fake' AS s FROM real_src"
    )
    assert lin.reads == {"real_src"}
    assert lin.writes == {"real_t"}


def test_qualified_and_quoted_names_use_the_last_part() -> None:
    lin = sql_lineage("INSERT INTO `cat`.`db`.`Out Table` SELECT * FROM cat.db.src_1")
    assert lin.writes == {"out table"}
    assert lin.reads == {"src_1"}


def test_view_is_a_write_and_statement_set_is_scanned() -> None:
    lin = sql_lineage(
        "CREATE TEMPORARY VIEW v AS SELECT * FROM a;\n"
        "EXECUTE STATEMENT SET BEGIN INSERT INTO x SELECT * FROM v; INSERT INTO y SELECT * FROM b; END;"
    )
    assert lin.writes == {"v", "x", "y"}
    assert lin.reads == {"a", "v", "b"}


def test_jinja_names_are_templated_and_tags_are_dropped() -> None:
    lin = sql_lineage(
        "INSERT INTO {{ sink }} SELECT * FROM `{{ prefix }}_events`\n"
        "{% if enrich %} JOIN dim_users d ON 1 = 1 {% endif %}{# note #}"
    )
    assert lin.writes == {"{{sink}}"}
    assert lin.reads == {"{{prefix}}_events", "dim_users"}
    assert lin.templated == {"{{sink}}", "{{prefix}}_events"}


def test_render_loosely_fills_params_and_keeps_unknowns() -> None:
    text = render_loosely("SELECT * FROM {{ src }} JOIN {{ other }}", {"src": "orders"})
    assert text == "SELECT * FROM orders JOIN {{other}}"
    assert render_loosely("{% if %}", {}) == "{% if %}"  # a broken template stays as written


_IDENT = st.text(string.ascii_lowercase, min_size=1, max_size=8).filter(
    lambda s: s.upper() not in _KEYWORDS  # reserved words need backticks in Flink SQL too
)


@given(target=_IDENT, sources=st.lists(_IDENT, min_size=1, max_size=4, unique=True))
def test_generated_insert_select_join(target: str, sources: list[str]) -> None:
    joins = " ".join(f"JOIN {s} ON 1 = 1" for s in sources[1:])
    lin = sql_lineage(f"INSERT INTO {target} SELECT * FROM {sources[0]} {joins};")
    assert lin.writes == {target}
    assert lin.reads == set(sources)


@settings(max_examples=300)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    lin = sql_lineage(text)
    assert isinstance(lin.reads, frozenset)


@given(
    st.text(alphabet="SELECT FROM JOIN INSERT INTO CREATE TABLE AS ( ) ; ' ` {{ }} {% %} , . a b")
)
def test_never_raises_on_sql_shaped_noise(text: str) -> None:
    sql_lineage(text)


@given(
    names=st.lists(st.sampled_from(["a", "b", "src", "sink"]), min_size=1, max_size=4),
    params=st.dictionaries(
        st.sampled_from(["a", "b", "src"]), st.text(string.ascii_letters + "_-", max_size=6)
    ),
)
def test_fast_substitution_matches_jinja(names: list[str], params: dict[str, str]) -> None:
    text = " ".join(f"x{{{{ {n} }}}}y" for n in names)
    fast = render_loosely(text, params)
    slow = render_loosely(text + "{# force jinja #}", params)
    assert fast == slow

"""Each operator on the shipped specs' SQL: the right edit, in the right place, and only there."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ctt.mutate.models import Mutant, Target
from ctt.mutate.operators import OPERATORS, mutate_text, names
from ctt.mutate.sources import enumerate_mutants, load_sources

ROOT = Path(__file__).resolve().parents[3]
SPECS = sorted((ROOT / "specs").rglob("*.yaml"))


def sql_of(spec: str, test: str) -> str:
    data = yaml.safe_load((ROOT / "specs" / spec).read_text(encoding="utf-8"))
    return str(data["flink_transformation_tests"][test]["flink_sql"])


@functools.cache
def all_sql() -> list[str]:
    out = []
    for path in SPECS:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out += [
            t["flink_sql"]
            for t in data["flink_transformation_tests"].values()
            if t.get("flink_sql")
        ]
    return out


def file_mutants(spec: str, operator: str) -> list[Mutant]:
    return enumerate_mutants(load_sources(ROOT / "specs" / spec), [operator])


@functools.cache
def placed(spec: Path) -> list[Mutant]:
    return enumerate_mutants(load_sources(spec))


def line_of(spec: str, text: str, nth: int = 0) -> int:
    """1-based line of the ``nth`` line of the shipped spec that contains ``text`` (specs change)."""
    lines = (ROOT / "specs" / spec).read_text(encoding="utf-8").splitlines()
    return [i for i, ln in enumerate(lines, 1) if text in ln][nth]


def at(m: Mutant) -> str:
    """The user's file text from the mutant's line:col on (the site it names)."""
    lines = (ROOT / m.file).read_text(encoding="utf-8").splitlines()
    return lines[m.line - 1][m.col - 1 :]


def labels(ms: list[Mutant]) -> list[str]:
    return [m.label for m in ms]


TUMBLE = ("windows/tumble_aggregates.yaml", "tumble_tvf_aggregates")
LEGACY = ("windows/tumble_aggregates.yaml", "tumble_legacy_aggregates")


def test_registry_names_each_kind_once() -> None:
    assert names() == list(OPERATORS)
    assert names(Target.WATERMARK) == ["watermark_delay"]
    assert set(names(Target.SQL)) == {
        "window_size",
        "aggregate_swap",
        "comparison",
        "join_type",
        "join_interval",
        "filter_removal",
        "group_by_column",
        "case_literal",
    }
    assert all(op.doc for op in OPERATORS.values())


def test_window_size_tvf_doubles_and_halves() -> None:
    ms = mutate_text(sql_of(*TUMBLE), ["window_size"])
    assert labels(ms) == [
        "TUMBLE size '30' MINUTES -> '60' MINUTES (doubled)",
        "TUMBLE size '30' MINUTES -> '15' MINUTES (halved)",
    ]
    assert "INTERVAL '60' MINUTES))" in ms[0].text


def test_window_size_legacy_changes_the_group_window_and_its_auxiliaries() -> None:
    (doubled, halved) = mutate_text(sql_of(*LEGACY), ["window_size"])
    assert doubled.text.count("INTERVAL '2' HOUR") == 3
    assert halved.text.count("INTERVAL '30' MINUTE") == 3
    assert "'1' HOUR" not in doubled.text


def test_window_size_keeps_hop_size_a_multiple_of_the_slide() -> None:
    ms = mutate_text(sql_of("windows/hop_cumulate.yaml", "hop_tvf"), ["window_size"])
    # slide 10 -> 20 (30 is no multiple of 20) and size 30 -> 15 (smaller than the slide) are invalid
    assert labels(ms) == [
        "HOP slide '10' MINUTES -> '5' MINUTES (halved)",
        "HOP size '30' MINUTES -> '60' MINUTES (doubled)",
    ]


def test_window_size_odd_halving_uses_a_smaller_unit_with_precision() -> None:
    ms = mutate_text(sql_of("windows/session.yaml", "session_tvf"), ["window_size"])
    assert "INTERVAL '150' SECOND(3)" in ms[1].text


def test_window_size_file_position() -> None:
    (m, _) = file_mutants("windows/tumble_aggregates.yaml", "window_size")[:2]
    line = line_of("windows/tumble_aggregates.yaml", "INTERVAL '30' MINUTES")
    assert (m.file, m.line, m.col) == ("specs/windows/tumble_aggregates.yaml", line, 72)
    assert at(m).startswith("'30' MINUTES")


def test_aggregate_swap_on_shipped_sql() -> None:
    ms = mutate_text(sql_of(*TUMBLE), ["aggregate_swap"])
    assert labels(ms) == [
        "COUNT(*) -> COUNT(DISTINCT product)",
        "COUNT(DISTINCT product) -> COUNT(product)",
        "SUM -> MAX",
        "AVG -> SUM",
        "MIN -> MAX",
        "MAX -> MIN",
        "SUM -> MAX",
    ]
    assert "MAX(amount) AS revenue" in ms[2].text


def test_aggregate_swap_file_position_in_block_scalar() -> None:
    sum_max = next(
        m
        for m in file_mutants(*TUMBLE[:1], "aggregate_swap")
        if "revenue" in m.text[m.start : m.start + 40]
    )
    line = line_of("windows/tumble_aggregates.yaml", "SUM(amount) AS revenue")
    assert (sum_max.line, sum_max.col) == (line, 9)
    assert at(sum_max).startswith("SUM(amount) AS revenue")
    assert sum_max.description == f"SUM -> MAX at specs/windows/tumble_aggregates.yaml:{line}:9"
    assert sum_max.diff == ["-        SUM(amount) AS revenue,", "+        MAX(amount) AS revenue,"]


def test_comparison_in_case_when_where_and_on() -> None:
    (m,) = mutate_text(
        sql_of("basic_field_transformation.yaml", "basic_field_transformation"), ["comparison"]
    )
    assert m.label == "age >= 18 -> age > 18 (WHEN)"
    assert "WHEN age > 18 THEN" in m.text
    where = mutate_text(sql_of("windows/dedup_topn.yaml", "top3_payments_per_user"), ["comparison"])
    assert labels(where) == ["rn <= 3 -> rn < 3 (WHERE)"]
    on = mutate_text(sql_of("joins/interval_join.yaml", "interval_join_inner"), ["comparison"])
    assert labels(on) == ["o.order_id = s.order_id -> o.order_id <> s.order_id (ON)"]


def test_comparison_file_position() -> None:
    (m,) = file_mutants("basic_field_transformation.yaml", "comparison")
    assert (m.line, m.col) == (12, 20)
    assert at(m).startswith(">= 18")


def test_comparison_ignores_options_set_and_select_expressions() -> None:
    sql = "SET 'a' = 'b';\nCREATE TABLE t (x INT) WITH ('connector' = 'kafka');\nSELECT a = b AS f FROM t;"
    assert mutate_text(sql, ["comparison"]) == []


def test_join_type_both_ways() -> None:
    (inner,) = mutate_text(sql_of("joins/interval_join.yaml", "interval_join_inner"), ["join_type"])
    assert inner.label == "JOIN -> LEFT JOIN" and "LEFT JOIN shipments s" in inner.text
    (left,) = mutate_text(sql_of("joins/interval_join.yaml", "interval_join_left"), ["join_type"])
    assert left.label == "LEFT JOIN -> JOIN" and "\nJOIN shipments s" in left.text
    outer = mutate_text("SELECT * FROM a left outer join b ON a.k = b.k", ["join_type"])
    assert [m.text for m in outer] == ["SELECT * FROM a join b ON a.k = b.k"]
    assert mutate_text("SELECT * FROM a FULL JOIN b ON a.k = b.k", ["join_type"]) == []


def test_join_interval_doubles_the_bound() -> None:
    (m,) = mutate_text(sql_of("joins/interval_join.yaml", "interval_join_inner"), ["join_interval"])
    assert m.label == "join bound '30' MINUTE -> '60' MINUTE"
    assert "o.order_time + INTERVAL '60' MINUTE;" in m.text
    # a window's interval is no join bound
    assert mutate_text(sql_of(*TUMBLE), ["join_interval"]) == []


def test_filter_removal_whole_where() -> None:
    (m,) = mutate_text(sql_of(*TUMBLE), ["filter_removal"])
    assert m.label == "WHERE `quantity > 1` removed"
    assert "WHERE" not in m.text
    assert "INTERVAL '30' MINUTES))\nGROUP BY" in m.text


def test_filter_removal_drops_each_conjunct_and_respects_between() -> None:
    sql = "SELECT * FROM t\nWHERE a > 1 AND b BETWEEN 1 AND 2 AND c = 3\nGROUP BY a"
    ms = mutate_text(sql, ["filter_removal"])
    assert [m.text for m in ms] == [
        "SELECT * FROM t\nWHERE b BETWEEN 1 AND 2 AND c = 3\nGROUP BY a",
        "SELECT * FROM t\nWHERE a > 1 AND c = 3\nGROUP BY a",
        "SELECT * FROM t\nWHERE a > 1 AND b BETWEEN 1 AND 2\nGROUP BY a",
        "SELECT * FROM t\nGROUP BY a",
    ]


def test_filter_removal_does_not_cut_an_or_chain() -> None:
    ms = mutate_text("SELECT * FROM t WHERE a = 1 AND b = 2 OR c = 3", ["filter_removal"])
    assert [m.text for m in ms] == ["SELECT * FROM t"]


def test_group_by_column_also_leaves_the_select_list() -> None:
    (m,) = mutate_text(sql_of(*TUMBLE), ["group_by_column"])
    assert m.label == "GROUP BY drops user_id"
    assert "user_id" not in m.text
    assert "GROUP BY window_start, window_end;" in m.text
    (legacy,) = mutate_text(sql_of(*LEGACY), ["group_by_column"])
    assert "GROUP BY TUMBLE(order_time" in legacy.text and "  product," not in legacy.text


def test_group_by_column_file_position_is_the_group_by_item() -> None:
    ms = file_mutants("windows/tumble_aggregates.yaml", "group_by_column")
    group_by = [
        line_of("windows/tumble_aggregates.yaml", f"GROUP BY {first},") for first in ("user_id", "product")
    ]
    assert [(m.line, m.col) for m in ms] == [(group_by[0], 16), (group_by[1], 16)]
    assert at(ms[0]).startswith("user_id, window_start")


def test_case_literal_swaps_branch_values() -> None:
    (m,) = mutate_text(
        sql_of("basic_field_transformation.yaml", "basic_field_transformation"), ["case_literal"]
    )
    assert m.label == "CASE swaps 'adult' <-> 'minor'"
    assert "THEN 'minor'" in m.text and "ELSE 'adult'" in m.text
    (in_sum,) = mutate_text(sql_of(*TUMBLE), ["case_literal"])
    assert "THEN 0 ELSE 1 END" in in_sum.text
    # a non-literal branch is not swapped
    sql = sql_of("user_events_transformed.yaml", "user_events_transformed")
    assert mutate_text(sql, ["case_literal"]) == []


def test_watermark_delay_doubles_and_zeroes() -> None:
    ms = mutate_text("order_time - INTERVAL '10' SECOND", ["watermark_delay"])
    assert [m.text for m in ms] == ["order_time - INTERVAL '20' SECOND", "order_time"]
    assert mutate_text("updated_at", ["watermark_delay"]) == []


def test_watermark_delay_edits_the_yaml_where_the_anchor_is() -> None:
    ms = file_mutants("windows/tumble_aggregates.yaml", "watermark_delay")
    assert [(m.line, m.col) for m in ms] == [(12, 39), (12, 39)]
    assert at(ms[0]).startswith("'10' SECOND")
    assert ms[0].tests == ["tumble_tvf_aggregates", "tumble_legacy_aggregates"]
    assert '    watermark: "order_time"\n' in ms[1].text


@pytest.mark.parametrize("name", list(OPERATORS))
def test_operator_without_its_pattern_yields_nothing(name: str) -> None:
    text = "SELECT 'SUM(x) > 1 JOIN' AS s, `MAX` FROM t -- WHERE a = 1 GROUP BY b\n/* CASE WHEN */"
    assert mutate_text(text, [name]) == []


@pytest.mark.parametrize("sql", all_sql())
def test_no_mutant_is_the_original_text(sql: str) -> None:
    for m in mutate_text(sql):
        assert m.text != sql
        assert m.original != m.replacement


def _one_span(original: str, m: Mutant) -> None:
    assert m.text == original[: m.start] + m.replacement + original[m.end :]
    assert original[m.start : m.end] == m.original
    assert m.site <= m.end  # the site names the edit: inside it, or the call it changes


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_mutant_of_shipped_sql_changes_exactly_one_span(data: st.DataObject) -> None:
    sql = data.draw(st.sampled_from(all_sql()))
    ms = mutate_text(sql)
    if ms:
        _one_span(sql, data.draw(st.sampled_from(ms)))


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_any_placed_mutant_changes_one_span_of_the_users_file(data: st.DataObject) -> None:
    ms = placed(data.draw(st.sampled_from(SPECS)))
    if ms:
        m = data.draw(st.sampled_from(ms))
        _one_span((ROOT / m.file).read_text(encoding="utf-8"), m)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet="SELECT FROM WHERE AND OR GROUP BY JOIN LEFT ON SUM( ) , * > = < 1 'a' INTERVAL CASE WHEN THEN ELSE END HOUR TUMBLE\n",
        max_size=120,
    )
)
def test_operators_never_raise_and_keep_one_span_on_any_text(text: str) -> None:
    for m in mutate_text(text):
        _one_span(text, m)
        assert m.text != text

"""The SQL scanner: masking, intervals, clause splitting; arbitrary text never crashes the translator."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.oracle._scan import SqlShapeError, interval_ms, mask, scope_of
from ctt.oracle._translate import Translator
from tests.unit.oracle.conftest import make_test


@given(st.text(alphabet="ab ('`\"-\n/*)", max_size=60))
def test_mask_keeps_length_and_lines(text: str) -> None:
    masked = mask(text)
    assert len(masked) == len(text)
    assert masked.count("\n") == text.count("\n")


def test_mask_hides_literals_and_comments() -> None:
    sql = "SELECT 'GROUP BY' AS x -- WHERE\nFROM `t` /* JOIN */"
    masked = mask(sql)
    assert "GROUP" not in masked and "WHERE" not in masked and "JOIN" not in masked
    assert masked.startswith("SELECT '") and "FROM `_`" in masked


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("INTERVAL '1' HOUR", 3_600_000),
        ("INTERVAL '10' MINUTES", 600_000),
        ("interval '5' second", 5_000),
        ("INTERVAL '1.5' SECOND", 1_500),
        ("INTERVAL '2' DAY", 172_800_000),
    ],
)
def test_interval_ms(text: str, ms: int) -> None:
    assert interval_ms(text) == ms


@pytest.mark.parametrize(
    "text", ["INTERVAL '1' FORTNIGHT", "5 minutes", "INTERVAL '1:30' HOUR TO MINUTE"]
)
def test_bad_interval(text: str) -> None:
    with pytest.raises(SqlShapeError):
        interval_ms(text)


def test_scope_finds_the_inner_select() -> None:
    sql = "SELECT a FROM (SELECT b FROM t WHERE b > 1 GROUP BY b) WHERE a < 2"
    m = mask(sql)
    inner = scope_of(m, sql.index("GROUP"))
    where = inner.clauses["WHERE"]
    assert sql[where[0] : where[1]].strip() == "b > 1"
    outer = scope_of(m, sql.index("a < 2"))
    assert sql[slice(*outer.clauses["WHERE"])].strip() == "a < 2"


TEST = make_test(
    "flink_sql: x\ntables:\n  ev:\n    schema: {k: BIGINT, ts: TIMESTAMP(3)}\n    watermark: ts\n"
)


@given(
    st.lists(
        st.sampled_from(
            [
                "SELECT",
                "k",
                ",",
                "(",
                ")",
                "FROM",
                "ev",
                "TABLE(",
                "TUMBLE(",
                "HOP(",
                "SESSION(",
                "DESCRIPTOR(ts)",
                "INTERVAL '1' HOUR",
                "GROUP BY",
                "WHERE",
                "JOIN",
                "OVER (",
                "ROW_NUMBER()",
                "FOR SYSTEM_TIME AS OF",
                "'x'",
                "`k`",
                "=>",
                "PARTITION BY",
            ]
        ),
        max_size=25,
    ).map(" ".join)
)
def test_translator_fails_only_with_shape_errors(sql: str) -> None:
    with contextlib.suppress(SqlShapeError):
        Translator(TEST).translate(sql)


def test_mask_reads_quotes_as_the_lexer_does() -> None:
    sql = "SELECT 'a''b', \"c;d\" FROM t /* open"
    assert mask(sql) == "SELECT '____', \"___\" FROM t        "


def test_legacy_windows_go_through_the_shared_rewrite_and_stay_one_phase() -> None:
    tr = Translator(TEST).translate(
        "SELECT ev.k, TUMBLE_START(ts, INTERVAL '1' HOUR) AS ws, COUNT(*) AS n FROM ev "
        "GROUP BY ev.k, TUMBLE(ts, INTERVAL '1' HOUR)"
    )
    ((name, spec),) = tr.windows
    assert (spec.source, spec.time_col, spec.size_ms, spec.two_phase) == ("ev", "ts", 3_600_000, False)
    assert f'FROM "{name}" AS "ev" GROUP BY ev.k, window_start, window_end' in tr.sql
    assert "window_start AS ws" in tr.sql
    with pytest.raises(SqlShapeError, match="join or subquery"):
        Translator(TEST).translate(
            "SELECT COUNT(*) FROM (SELECT * FROM ev) GROUP BY TUMBLE(ts, INTERVAL '1' HOUR)"
        )

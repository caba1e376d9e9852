"""The one legacy group-window rewriter: exact TVF text, per SELECT block, refusals that say where."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.sql.group_windows import GroupWindowError, rewrite_group_windows
from ctt.sql.lexer import line_col


def test_tumble_becomes_a_tvf_and_the_window_is_reported_where_it_now_is() -> None:
    sql = (
        "SELECT k, TUMBLE_START(ts, INTERVAL '1' HOUR) AS ws, TUMBLE_END(ts, INTERVAL '1' HOUR) "
        "AS we FROM ev GROUP BY k, TUMBLE(ts, INTERVAL '1' HOUR)"
    )
    out = rewrite_group_windows(sql)
    assert out.sql == (
        "SELECT k, window_start AS ws, window_end AS we FROM "
        "TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' HOUR)) "
        "GROUP BY k, window_start, window_end"
    )
    (win,) = out.windows
    assert out.sql[win.offset :].startswith("TABLE(TUMBLE(TABLE ev")
    assert (win.kind, win.source, win.alias) == ("TUMBLE", "ev", None)


def test_each_select_block_is_rewritten_on_its_own() -> None:
    sql = (
        "SELECT * FROM (SELECT k, TUMBLE_END(ts, INTERVAL '1' HOUR) AS we FROM ev e "
        "GROUP BY k, TUMBLE(e.ts, INTERVAL '1' HOUR)) x\nUNION ALL\n"
        "SELECT k, CAST(HOP_END(ts, INTERVAL '1' HOUR, INTERVAL '2' HOUR) AS DATE) FROM ev "
        "GROUP BY HOP(ts, INTERVAL '1' HOUR, INTERVAL '2' HOUR), k"
    )
    out = rewrite_group_windows(sql)
    assert (
        "FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' HOUR)) AS e GROUP BY" in out.sql
    )
    assert "CAST(window_end AS DATE) FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts)" in out.sql
    assert [(w.kind, w.alias) for w in out.windows] == [("TUMBLE", "e"), ("HOP", None)]
    assert all(out.sql[w.offset :].startswith("TABLE(") for w in out.windows)
    assert rewrite_group_windows(out.sql).sql == out.sql  # nothing legacy is left


def test_session_partitions_by_the_other_keys() -> None:
    one = rewrite_group_windows(
        "SELECT a, COUNT(*) FROM t GROUP BY a, SESSION(ts, INTERVAL '5' MINUTE)"
    ).sql
    assert "TABLE(SESSION(TABLE t PARTITION BY a, DESCRIPTOR(ts), INTERVAL '5' MINUTE))" in one
    two = rewrite_group_windows(
        "SELECT 1 FROM t AS x GROUP BY x.a, SESSION(ts, INTERVAL '5' MINUTE), `b c`"
    ).sql
    assert "TABLE(SESSION(TABLE t PARTITION BY (a, `b c`), DESCRIPTOR(ts)" in two
    with pytest.raises(GroupWindowError, match="must be a column"):
        rewrite_group_windows("SELECT 1 FROM t GROUP BY UPPER(a), SESSION(ts, INTERVAL '5' MINUTE)")


def test_what_is_not_legacy_is_left_byte_for_byte() -> None:
    for sql in (
        "SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR))",
        "SELECT * FROM TABLE(TUMBLE(DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), SIZE => x))",
        "SELECT 'GROUP BY TUMBLE(ts, x)', `TUMBLE(a)` FROM t -- TUMBLE(a, b)\n",
        "SELECT session, tumble FROM t GROUP BY session",
        "SELECT cat.TUMBLE(x) FROM t",
    ):
        out = rewrite_group_windows(sql)
        assert out.sql == sql and out.windows == ()


@pytest.mark.parametrize(
    ("sql", "needle", "at"),
    [
        ("SELECT 1 FROM a JOIN b ON 1 = 1\nGROUP BY TUMBLE(ts, x)", "join or subquery", "FROM"),
        ("SELECT 1 FROM t GROUP BY k\nHAVING TUMBLE(ts, x) > 1", "outside GROUP BY", "TUMBLE"),
        ("SELECT 1 FROM t\nGROUP BY TUMBLE(ts, x), HOP(ts, x, y)", "(found 2)", "TUMBLE"),
        ("SELECT TUMBLE_END(ts, x) FROM t", "(found 0)", "TUMBLE_END"),
        ("SELECT\nTUMBLE_PROCTIME(ts, x) FROM t GROUP BY TUMBLE(ts, x)", "processing", "TUMBLE_P"),
        ("SELECT HOP_END(ts, x)\nFROM t GROUP BY TUMBLE(ts, x)", "does not match", "HOP_END"),
        ("SELECT 1 FROM t GROUP BY\nHOP(ts, x)", "takes 3 arguments", "HOP("),
        ("SELECT 1 FROM t GROUP BY TUMBLE(ts + 1, x)", "must be a column", "ts + 1"),
        ("SELECT 1 FROM t GROUP BY TUMBLE(ts, x", "unbalanced", "(ts"),
    ],
)
def test_refusals_say_what_and_where(sql: str, needle: str, at: str) -> None:
    with pytest.raises(GroupWindowError) as info:
        rewrite_group_windows(sql)
    assert needle in str(info.value)
    assert info.value.offset == sql.index(at)
    assert line_col(sql, info.value.offset)[0] == sql[: sql.index(at)].count("\n") + 1


WORDS = [
    "SELECT",
    "FROM",
    "t",
    "k",
    "GROUP BY",
    "TUMBLE(",
    "HOP(",
    "SESSION(",
    "TUMBLE_START(",
    "ts",
    "INTERVAL '1' HOUR",
    ",",
    "(",
    ")",
    "AS",
    "x",
    "JOIN",
    "UNION",
    "TABLE(",
    "=>",
    ";",
]


@given(st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join))
def test_only_group_window_errors_escape(sql: str) -> None:
    try:
        out = rewrite_group_windows(sql)
    except GroupWindowError as exc:
        assert 0 <= exc.offset <= len(sql)
        return
    if not out.windows:
        assert out.sql == sql

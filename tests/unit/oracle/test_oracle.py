"""The oracle against hand-computed cases: windows, lateness, joins, dedup, top-N, reference_sql."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ctt.errors import ConfigError
from ctt.observed.model import Column
from ctt.oracle import OracleResult, compute_expected
from tests.unit.oracle.conftest import inputs_for, make_test

EVENTS = """
tables:
  ev:
    schema: {k: BIGINT, kind: STRING, v: INT, ts: TIMESTAMP(3)}
    watermark: "ts - INTERVAL '5' SECOND"
"""


def run(
    sql: str,
    rows: dict[str, list[dict[str, Any]]],
    tables: str = EVENTS,
    columns: list[Column] | None = None,
    **extra: Any,
) -> OracleResult:
    test = make_test(f"flink_sql: |\n  {sql}\n{tables}")
    for k, v in extra.items():
        setattr(test, k, v)
    return compute_expected(
        test, "out", sql=sql, columns=columns or [], inputs=inputs_for(test, rows)
    )


def ts(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-01-01 {text}")


def ev(k: int, t: str, kind: str = "view", v: int = 1) -> dict[str, Any]:
    return {"k": k, "kind": kind, "v": v, "ts": f"2026-01-01 {t}"}


def by(rows: list[dict[str, Any]], *cols: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(r[c] for c in cols) for r in rows)


TUMBLE_TVF = (
    "CREATE TABLE out AS SELECT k, window_start, window_end, COUNT(*) AS n, SUM(v) AS s, "
    "MIN(v) AS lo, MAX(v) AS hi, AVG(v) AS av, COUNT(DISTINCT kind) AS kinds "
    "FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' MINUTES)) "
    "GROUP BY k, window_start, window_end;"
)


def test_tumble_tvf_aggregates_by_hand() -> None:
    rows = [
        ev(1, "10:01:00", "view", 2),
        ev(1, "10:05:00", "buy", 5),
        ev(2, "10:09:59", v=4),
        ev(1, "10:10:00", v=7),
    ]
    names = ["k", "window_start", "window_end", "n", "s", "lo", "hi", "av", "kinds"]
    types = [
        "BIGINT",
        "TIMESTAMP(3)",
        "TIMESTAMP(3)",
        "BIGINT",
        "INT",
        "INT",
        "INT",
        "INT",
        "BIGINT",
    ]
    columns = [Column(name=n, type=t) for n, t in zip(names, types, strict=True)]
    res = run(TUMBLE_TVF, {"ev": rows}, columns=columns)
    got = by(res.rows, "k", "window_start", "window_end", "n", "s", "lo", "hi", "av", "kinds")
    assert got == [
        (1, ts("10:00:00"), ts("10:10:00"), 2, 7, 2, 5, 3, 2),  # AVG of INT truncates: 7/2 -> 3
        (1, ts("10:10:00"), ts("10:20:00"), 1, 7, 7, 7, 7, 1),
        (2, ts("10:00:00"), ts("10:10:00"), 1, 4, 4, 4, 4, 1),
    ]
    assert res.expected_late_dropped == 0


def test_late_event_dropped_only_when_its_window_fired() -> None:
    rows = [
        ev(1, "10:01:00"),
        ev(1, "10:20:00"),  # watermark 10:19:55 - 1 ms: the 10:00-10:10 window has fired
        ev(1, "10:02:00"),  # late, window fired: dropped
        ev(1, "10:16:00"),  # late (before the watermark), but 10:10-10:20 is still open: kept
    ]
    res = run(TUMBLE_TVF, {"ev": rows})
    assert by(res.rows, "window_start", "n") == [
        (ts("10:00:00"), 1),
        (ts("10:10:00"), 1),
        (ts("10:20:00"), 1),
    ]
    assert res.late_sent == 2
    assert res.expected_late_dropped == 1


def test_two_phase_late_drops_count_accumulators() -> None:
    """Two late events of one key and window, before the watermark crosses a slice: one drop."""
    rows = [ev(1, "10:01:00"), ev(1, "10:12:00"), ev(1, "10:02:00"), ev(1, "10:03:00")]
    res = run(TUMBLE_TVF, {"ev": rows})
    assert res.expected_late_dropped == 1
    legacy = run(
        "CREATE TABLE out AS SELECT k, TUMBLE_START(ts, INTERVAL '10' MINUTE) AS ws, COUNT(*) AS n "
        "FROM ev GROUP BY k, TUMBLE(ts, INTERVAL '10' MINUTE);",
        {"ev": rows},
    )
    assert legacy.expected_late_dropped == 2  # the legacy operator counts records
    assert by(legacy.rows, "ws", "n") == [(ts("10:00:00"), 1), (ts("10:10:00"), 1)]


def test_legacy_tumble_with_filter_and_case() -> None:
    rows = [ev(1, "10:01:00", "buy"), ev(1, "10:02:00", "view"), ev(2, "10:03:00", "buy", v=0)]
    res = run(
        "CREATE TABLE out AS SELECT k, TUMBLE_START(ts, INTERVAL '1' HOUR) AS ws, "
        "TUMBLE_END(ts, INTERVAL '1' HOUR) AS we, "
        "SUM(CASE WHEN kind = 'buy' THEN 1 ELSE 0 END) AS buys FROM ev WHERE v > 0 "
        "GROUP BY k, TUMBLE(ts, INTERVAL '1' HOUR);",
        {"ev": rows},
    )
    assert by(res.rows, "k", "ws", "we", "buys") == [(1, ts("10:00:00"), ts("11:00:00"), 1)]


def test_hop_late_event_counts_in_the_windows_still_open() -> None:
    sql = (
        "CREATE TABLE out AS SELECT window_start, COUNT(*) AS n FROM TABLE(HOP(TABLE ev, "
        "DESCRIPTOR(ts), INTERVAL '5' MINUTES, INTERVAL '10' MINUTES)) GROUP BY window_start, window_end;"
    )
    rows = [ev(1, "10:01:00"), ev(1, "10:11:00"), ev(1, "10:07:00")]
    # watermark before the late event: 10:10:55; windows of 10:07: [10:00,10:10) fired, [10:05,10:15) open
    res = run(sql, {"ev": rows})
    assert by(res.rows, "window_start", "n") == [
        (ts("09:55:00"), 1),
        (ts("10:00:00"), 1),
        (ts("10:05:00"), 2),
        (ts("10:10:00"), 1),
    ]
    assert res.expected_late_dropped == 0


def test_cumulate_windows() -> None:
    sql = (
        "CREATE TABLE out AS SELECT window_start, window_end, COUNT(*) AS n FROM TABLE(CUMULATE("
        "TABLE ev, DESCRIPTOR(ts), INTERVAL '10' MINUTES, INTERVAL '30' MINUTES)) "
        "GROUP BY window_start, window_end;"
    )
    res = run(sql, {"ev": [ev(1, "10:05:00"), ev(1, "10:25:00")]})
    assert by(res.rows, "window_end", "n") == [
        (ts("10:10:00"), 1),
        (ts("10:20:00"), 1),
        (ts("10:30:00"), 2),
    ]


def test_session_windows_merge_when_touching_and_drop_when_fired() -> None:
    sql = (
        "CREATE TABLE out AS SELECT k, window_start, window_end, COUNT(*) AS n FROM TABLE(SESSION("
        "TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '5' MINUTES)) GROUP BY k, window_start, window_end;"
    )
    rows = [
        ev(1, "10:00:00"),
        ev(1, "10:05:00"),  # touches [10:00, 10:05): same session
        ev(2, "10:01:00"),
        ev(1, "10:30:00"),  # watermark passes 10:10 -> first sessions fire
        ev(1, "10:02:00"),  # late, its session fired: dropped
        ev(2, "10:28:00"),  # late (behind 10:29:55) but [10:28, 10:33) is open: kept
    ]
    res = run(sql, {"ev": rows})
    assert by(res.rows, "k", "window_start", "window_end", "n") == [
        (1, ts("10:00:00"), ts("10:10:00"), 2),
        (1, ts("10:30:00"), ts("10:35:00"), 1),
        (2, ts("10:01:00"), ts("10:06:00"), 1),
        (2, ts("10:28:00"), ts("10:33:00"), 1),
    ]
    assert res.expected_late_dropped == 1


def test_legacy_session_groups_by_the_other_keys() -> None:
    sql = (
        "CREATE TABLE out AS SELECT k, SESSION_START(ts, INTERVAL '5' MINUTE) AS ws, "
        "SESSION_END(ts, INTERVAL '5' MINUTE) AS we, COUNT(*) AS n FROM ev "
        "GROUP BY k, SESSION(ts, INTERVAL '5' MINUTE);"
    )
    res = run(sql, {"ev": [ev(1, "10:00:00"), ev(2, "10:02:00"), ev(1, "10:03:00")]})
    assert by(res.rows, "k", "ws", "we", "n") == [
        (1, ts("10:00:00"), ts("10:08:00"), 2),
        (2, ts("10:02:00"), ts("10:07:00"), 1),
    ]


def test_allowed_lateness_keeps_a_late_event() -> None:
    rows = [ev(1, "10:01:00"), ev(1, "10:12:00"), ev(1, "10:02:00")]
    sql = (
        "CREATE TABLE out AS SELECT k, TUMBLE_START(ts, INTERVAL '10' MINUTE) AS ws, COUNT(*) AS n "
        "FROM ev GROUP BY k, TUMBLE(ts, INTERVAL '10' MINUTE);"
    )
    strict = run(sql, {"ev": rows})
    lenient = run(sql, {"ev": rows}, settings={"table.exec.emit.allow-lateness": "5 min"})
    assert strict.expected_late_dropped == 1 and lenient.expected_late_dropped == 0
    assert lenient.allowed_lateness_ms == 300_000
    assert by(lenient.rows, "ws", "n") == [(ts("10:00:00"), 2), (ts("10:10:00"), 1)]


def test_watermark_is_the_minimum_over_partitions() -> None:
    """A partition without data yet holds the watermark back: nothing is late."""
    tables = EVENTS.replace("watermark:", "partitions: 2\n    key: k\n    watermark:")
    from ctt.datagen.partition import partition_for

    a = next(k for k in range(1, 50) if partition_for(f'{{"k":{k}}}'.encode(), 2) == 0)
    b = next(k for k in range(1, 50) if partition_for(f'{{"k":{k}}}'.encode(), 2) == 1)
    early = [ev(a, "10:01:00"), ev(a, "10:30:00"), ev(a, "10:02:00"), ev(b, "10:03:00")]
    res = run(TUMBLE_TVF, {"ev": early}, tables=tables)
    assert res.expected_late_dropped == 0  # partition 1 had nothing: watermark at -inf
    assert sum(r["n"] for r in res.rows) == 4
    both = [
        ev(b, "10:00:30"),
        ev(a, "10:01:00"),
        ev(a, "10:30:00"),
        ev(b, "10:31:00"),
        ev(a, "10:02:00"),
    ]
    res = run(TUMBLE_TVF, {"ev": both}, tables=tables)
    assert res.expected_late_dropped == 1  # min(10:30, 10:31) - 5 s has passed 10:10


USERS = """
tables:
  users:
    schema: {user_id: BIGINT, name: STRING, updated_at: TIMESTAMP(3)}
    primary_key: user_id
    versioned: true
    watermark: updated_at
  events:
    schema: {user_id: BIGINT, ts: TIMESTAMP(3)}
    watermark: ts
"""
USER_ROWS = {
    "users": [
        {"user_id": 1, "name": "old", "updated_at": "2026-01-01 09:00:00"},
        {"user_id": 1, "name": "new", "updated_at": "2026-01-01 10:30:00"},
        {"user_id": 2, "name": "bob", "updated_at": "2026-01-01 11:00:00"},
    ],
    "events": [
        {"user_id": 1, "ts": "2026-01-01 10:00:00"},
        {"user_id": 1, "ts": "2026-01-01 11:00:00"},
        {"user_id": 2, "ts": "2026-01-01 10:00:00"},  # bob did not exist yet
        {"user_id": 3, "ts": "2026-01-01 10:00:00"},  # no such user
    ],
}


@pytest.mark.parametrize(("join", "expected"), [("JOIN", 2), ("LEFT JOIN", 4)])
def test_temporal_join_picks_the_version_valid_at_event_time(join: str, expected: int) -> None:
    sql = (
        f"CREATE TABLE out AS SELECT e.user_id, e.ts, u.name FROM events e {join} users "
        "FOR SYSTEM_TIME AS OF e.ts AS u ON e.user_id = u.user_id;"
    )
    res = run(sql, USER_ROWS, tables=USERS)
    rows = by(res.rows, "user_id", "ts", "name")
    assert len(rows) == expected
    assert (1, ts("10:00:00"), "old") in rows and (1, ts("11:00:00"), "new") in rows
    if join == "LEFT JOIN":
        assert (2, ts("10:00:00"), None) in rows and (3, ts("10:00:00"), None) in rows


def test_interval_join_inner_and_left() -> None:
    tables = """
tables:
  a: {schema: {id: BIGINT, t: TIMESTAMP(3)}, watermark: t}
  b: {schema: {id: BIGINT, t: TIMESTAMP(3)}, watermark: t}
"""
    data = {
        "a": [{"id": 1, "t": "2026-01-01 10:00:00"}, {"id": 2, "t": "2026-01-01 10:00:00"}],
        "b": [{"id": 1, "t": "2026-01-01 10:20:00"}, {"id": 2, "t": "2026-01-01 11:00:00"}],
    }
    cond = "ON a.id = b.id AND b.t BETWEEN a.t AND a.t + INTERVAL '30' MINUTE"
    inner = run(
        f"CREATE TABLE out AS SELECT a.id, b.t AS bt FROM a JOIN b {cond};", data, tables=tables
    )
    left = run(
        f"CREATE TABLE out AS SELECT a.id, b.t AS bt FROM a LEFT JOIN b {cond};",
        data,
        tables=tables,
    )
    assert by(inner.rows, "id", "bt") == [(1, ts("10:20:00"))]
    assert sorted(by(left.rows, "id"), key=str) == [(1,), (2,)]
    assert [r["bt"] for r in left.rows if r["id"] == 2] == [None]


def test_dedup_keeps_first_row_and_top_n_breaks_ties_by_arrival() -> None:
    rows = [
        ev(1, "10:05:00", v=3),
        ev(1, "10:06:00", v=9),
        ev(2, "10:07:00", v=9),
        ev(1, "10:08:00", v=9),
    ]
    dedup = run(
        "CREATE TABLE out AS SELECT k, ts FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k "
        "ORDER BY ts ASC) AS rn FROM ev) WHERE rn = 1;",
        {"ev": rows},
    )
    assert by(dedup.rows, "k", "ts") == [(1, ts("10:05:00")), (2, ts("10:07:00"))]
    top = run(
        "CREATE TABLE out AS SELECT k, ts, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k "
        "ORDER BY v DESC) AS rn FROM ev) WHERE rn <= 1;",
        {"ev": rows},
    )
    assert by(top.rows, "k", "ts") == [(1, ts("10:06:00")), (2, ts("10:07:00"))]


def test_columns_are_named_like_the_output() -> None:
    test = make_test(f"flink_sql: x\n{EVENTS}")
    res = compute_expected(
        test,
        "out",
        sql="CREATE TABLE out AS SELECT k, COUNT(*) FROM ev GROUP BY k;",
        columns=[Column(name="k", type="BIGINT"), Column(name="EXPR$1", type="BIGINT NOT NULL")],
        inputs=inputs_for(test, {"ev": [ev(1, "10:00:00"), ev(1, "10:01:00")]}),
    )
    assert res.rows == [{"k": 1, "EXPR$1": 2}]


def test_reference_sql_over_the_ground_truth() -> None:
    text = f"""flink_sql: x
{EVENTS}
expected:
  out:
    reference_sql: SELECT k, count(*) AS n FROM ev WHERE NOT _ctt_late GROUP BY k
"""
    test = make_test(text)
    rows = [ev(1, "10:00:00"), ev(1, "10:30:00"), ev(1, "10:01:00")]
    res = compute_expected(
        test,
        "out",
        sql="CREATE TABLE out AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k;",
        columns=[],
        inputs=inputs_for(test, {"ev": rows}),
    )
    assert res.rows == [{"k": 1, "n": 2}]
    assert res.late_sent == 1


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE out AS SELECT k, SUM(v) OVER (PARTITION BY k ORDER BY ts) AS s FROM ev;",
        "CREATE TABLE out AS SELECT * FROM ev MATCH_RECOGNIZE (PARTITION BY k ORDER BY ts MEASURES A.v AS v PATTERN (A) DEFINE A AS v > 0);",
        "CREATE TABLE out AS SELECT k, COUNT(*) AS n FROM (SELECT * FROM ev) GROUP BY k, TUMBLE(ts, INTERVAL '1' HOUR);",
        "CREATE TABLE out AS SELECT no_such_function(k) FROM ev;",
    ],
)
def test_unknown_shapes_ask_for_reference_sql(sql: str) -> None:
    with pytest.raises(ConfigError) as err:
        run(sql, {"ev": [ev(1, "10:00:00")]})
    assert "reference_sql" in (err.value.hint or "") + str(err.value)

"""Assertions over outputs (dbt data tests and SQL that must return nothing): pass, fail, misconfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ctt.config.spec import FlinkTest
from ctt.errors import ConfigError
from ctt.observed.model import (
    Column,
    InputRecord,
    Outcome,
    OutputRow,
    SpecRef,
    TableOutput,
    ValidationContext,
)
from ctt.validate import registry

COLS = [
    Column(name="user_id", type="BIGINT"),
    Column(name="window_start", type="TIMESTAMP(3)"),
    Column(name="kind", type="STRING"),
    Column(name="n", type="BIGINT"),
    Column(name="seen", type="TIMESTAMP_LTZ(3) *PROCTIME*"),
]
GOOD = [
    {"user_id": 1, "window_start": "2024-01-01 00:00:00", "kind": "click", "n": 2, "seen": None},
    {"user_id": 2, "window_start": "2024-01-01 00:00:00", "kind": "buy", "n": 1, "seen": None},
]
SPEC = FlinkTest(
    name="t",
    flink_sql="SELECT 1",
    tables={
        "events": {
            "schema": {"user_id": "BIGINT", "kind": "STRING", "ts": "TIMESTAMP(3)"},
            "watermark": "ts - INTERVAL '1' SECOND",
        }
    },
)
SENT = [
    InputRecord(table="events", row={"user_id": 1, "kind": "click", "ts": "2024-01-01T00:00:01"}),
    InputRecord(table="events", row={"user_id": 1, "kind": "click", "ts": "2024-01-01T00:00:02"}),
    InputRecord(
        table="events", row={"user_id": 2, "kind": "buy", "ts": "2024-01-01T00:00:03"}, late=True
    ),
]


def ctx(rows: list[dict[str, Any]], *, dropped: int | None = 0) -> ValidationContext:
    out = TableOutput(table="out", columns=COLS, records=[OutputRow(row=r) for r in rows])
    c = ValidationContext(
        test="t",
        outputs={"out": out},
        inputs=SENT,
        spec=SpecRef(test=SPEC, file=Path("/specs/s.yaml"), lines={"sql_assertions": 7}),
    )
    c.metrics.late_records_dropped = dropped
    return c


def run(name: str, raw: Any, c: ValidationContext) -> Outcome:
    v = registry.get(name)
    return v.check(v.parse(raw), c)


def test_registered() -> None:
    for name in (
        "unique",
        "not_null",
        "accepted_values",
        "relationships",
        "row_count_relation",
        "sql_assertions",
        "snapshot_match",
    ):
        assert name in registry.names()


def test_unique() -> None:
    assert run("unique", ["user_id", "window_start"], ctx(GOOD)).passed
    bad = run("unique", {"table": "out", "columns": ["window_start"]}, ctx(GOOD))
    assert not bad.passed and bad.measured == 1
    assert "1 duplicated keys" in (bad.details or "") and "2024-01-01 00:00:00" in (
        bad.details or ""
    )


def test_not_null() -> None:
    assert run("not_null", "user_id", ctx(GOOD)).passed
    res = run("not_null", ["user_id", "kind"], ctx([*GOOD, {**GOOD[0], "kind": None}]))
    assert not res.passed and res.summary == "1 rows with NULLs"
    assert "seen" not in (res.details or "")  # processing time is never shown or checked


def test_accepted_values() -> None:
    assert run("accepted_values", {"column": "kind", "values": ["click", "buy"]}, ctx(GOOD)).passed
    res = run("accepted_values", {"column": "kind", "values": ["click"]}, ctx(GOOD))
    assert not res.passed and "buy" in (res.details or "")
    nulls = ctx([{**GOOD[0], "kind": None}])
    assert not run("accepted_values", {"column": "kind", "values": ["click"]}, nulls).passed
    assert run(
        "accepted_values", {"column": "kind", "values": ["click"], "allow_null": True}, nulls
    ).passed
    assert run("accepted_values", {"column": "n", "values": [1, 2.0]}, ctx(GOOD)).passed


def test_relationships() -> None:
    assert run("relationships", {"column": "user_id", "to": "events"}, ctx(GOOD)).passed
    res = run(
        "relationships",
        {"column": "user_id", "to": "events"},
        ctx([*GOOD, {**GOOD[0], "user_id": 9}]),
    )
    assert not res.passed and res.summary == "1 rows whose user_id is not in events.user_id"


def test_row_count_relation() -> None:
    ok = run(
        "row_count_relation", ["out <= events", "sum(out.n) == events - late_dropped"], ctx(GOOD)
    )
    assert ok.passed and "3 == 3 - 0" in ok.summary
    res = run("row_count_relation", "sum(out.n) == events - late_dropped", ctx(GOOD, dropped=1))
    assert not res.passed and "FAIL sum(out.n) == events - late_dropped: 3 == 3 - 1" in (
        res.details or ""
    )
    assert run("row_count_relation", "late(events) = 1", ctx(GOOD)).passed
    assert not run("row_count_relation", "out > 2 + 1", ctx(GOOD)).passed


@pytest.mark.parametrize("raw", ["out <=", "out <= events >= 1", "out * 2 == 1", [], {"a": 1}])
def test_row_count_relation_syntax_errors(raw: Any) -> None:
    with pytest.raises(ValueError):
        registry.get("row_count_relation").parse(raw)


def test_sql_assertions_pass_and_fail_with_rows_shown() -> None:
    ok = run("sql_assertions", ["SELECT * FROM out WHERE n < 1"], ctx(GOOD))
    assert ok.passed and ok.summary == "1 queries return no rows"
    res = run(
        "sql_assertions",
        [
            {
                "name": "n_within_sent",
                "sql": """SELECT o.user_id, o.n, count(e.user_id) AS sent
                 FROM out o LEFT JOIN events e ON e.user_id = o.user_id AND NOT e._ctt_late
                 GROUP BY ALL HAVING o.n > count(e.user_id)""",
            },
            "SELECT * FROM out WHERE kind = 'nope'",
        ],
        ctx(GOOD),
    )
    assert not res.passed and res.summary == "1 of 2 queries return rows"
    assert "n_within_sent: 1 rows returned (want none)" in (res.details or "")


def test_sql_assertions_errors_point_at_the_spec() -> None:
    with pytest.raises(ValueError, match="query 1"):
        registry.get("sql_assertions").parse(["SELEC nonsense FROM"])
    with pytest.raises(ValueError, match="unknown keys: nmae"):
        registry.get("sql_assertions").parse([{"nmae": "x", "sql": "SELECT 1"}])
    with pytest.raises(ConfigError) as exc:
        run("sql_assertions", ["SELECT nope FROM out"], ctx(GOOD))
    assert exc.value.location == "/specs/s.yaml:7"


def test_sql_assertions_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text(
        "-- checks\n\n-- name: no_big\nSELECT * FROM out WHERE n > 5;\n"
        "-- name: no_unknown_kind\nSELECT * FROM out\nWHERE kind NOT IN ('click', 'buy'); -- end\n"
        "-- name: broken\nSELECT missing_column FROM out;\n"
    )
    c = ctx(GOOD)
    assert c.spec is not None
    c.spec.file = tmp_path / "s.yaml"
    with pytest.raises(ConfigError) as exc:
        run("sql_assertions", {"file": "q.sql"}, c)
    assert exc.value.location == f"{tmp_path / 'q.sql'}:9" and "broken" in exc.value.message
    (tmp_path / "q.sql").write_text("-- name: no_big\nSELECT * FROM out WHERE n > 1;\n")
    res = run("sql_assertions", [{"file": "q.sql"}], c)
    assert not res.passed and "no_big: 1 rows" in (res.details or "")
    with pytest.raises(ConfigError, match="no query file"):
        run("sql_assertions", {"file": "missing.sql"}, c)


def test_unknown_tables_and_columns_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="no column 'nope'"):
        run("unique", {"table": "out", "columns": ["nope"]}, ctx(GOOD))
    with pytest.raises(ConfigError, match="no output has the columns nope"):
        run("not_null", ["nope"], ctx(GOOD))
    with pytest.raises(ConfigError, match="no table 'ghost'"):
        run("relationships", {"column": "user_id", "to": "ghost"}, ctx(GOOD))
    with pytest.raises(ValueError, match="unknown parameter"):
        registry.get("unique").parse({"columns": ["a"], "tabel": "x"})

"""Snapshot files: stable text, round trips, diffs by key, and the never-in-CI policy."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ctt.errors import UsageError
from ctt.expect import snapshot as snap
from ctt.observed.model import (
    Column,
    InputRecord,
    OutputRow,
    SnapshotRef,
    TableOutput,
    ValidationContext,
)

COLS = [
    Column(name="user_id", type="BIGINT"),
    Column(name="window_start", type="TIMESTAMP(3)"),
    Column(name="n", type="BIGINT NOT NULL"),
    Column(name="avg", type="DOUBLE"),
    Column(name="seen_at", type="TIMESTAMP_LTZ(3) NOT NULL *PROCTIME*"),
]


def ctx(rows: list[dict[str, Any]], *, late_dropped: int | None = 1) -> ValidationContext:
    out = TableOutput(
        table="summary",
        columns=COLS,
        records=[OutputRow(row=r) for r in rows],
        key=["user_id", "window_start"],
    )
    c = ValidationContext(
        test="t",
        outputs={"summary": out},
        inputs=[
            InputRecord(table="events", row={"user_id": 1}),
            InputRecord(table="events", row={"user_id": 2}, late=True),
            InputRecord(table="events", row=None, closing=True),
        ],
    )
    c.metrics.late_records_dropped = late_dropped
    return c


ROWS = [
    {"user_id": 2, "window_start": "2024-01-01 01:00:00", "n": 3, "avg": 1 / 3, "seen_at": "x"},
    {"user_id": 10, "window_start": "2024-01-01 00:00:00", "n": 1, "avg": 2.0, "seen_at": "y"},
    {"user_id": 2, "window_start": "2024-01-01 00:00:00", "n": 5, "avg": 1e20, "seen_at": "z"},
]


def test_capture_is_sorted_typed_and_leaves_out_proctime() -> None:
    text = snap.dumps(snap.capture(ctx(ROWS)), command="ctt run s.yaml --update-snapshots")
    body = text.split("\n")
    assert body[0].startswith("# ctt snapshot of test `t`")
    assert "# Update: ctt run s.yaml --update-snapshots" in text
    rows = [ln for ln in body if ln.startswith("    - ")]
    assert rows == [
        '    - {user_id: 2, window_start: "2024-01-01 00:00:00", "n": 5, avg: 1.0e+20}',
        '    - {user_id: 2, window_start: "2024-01-01 01:00:00", "n": 3, avg: 0.333333333333}',
        '    - {user_id: 10, window_start: "2024-01-01 00:00:00", "n": 1, avg: 2.0}',
    ]
    assert "seen_at" not in text
    assert "  events: {sent: 2, late: 1}" in text
    assert "late_dropped: 1" in text


def test_no_late_events_no_late_count() -> None:
    c = ctx(ROWS)
    c.inputs = [InputRecord(table="events", row={"user_id": 1})]
    assert snap.capture(c).late_dropped is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1 + 0.2, "0.3"),
        (2.0, "2.0"),
        (1e-7, "1.0e-07"),
        (-1.5e300, "-1.5e+300"),
        (math.inf, ".inf"),
        (-math.inf, "-.inf"),
        (math.nan, ".nan"),
        (3, "3"),
        (True, "true"),
        (None, "null"),
        ("yes", '"yes"'),
        (datetime(2024, 1, 1, 0, 0, 0, 5000), '"2024-01-01 00:00:00.005000"'),
    ],
)
def test_scalars_are_stable_and_read_back(value: Any, text: str) -> None:
    assert snap.scalar(value) == text
    back = yaml.safe_load(text)
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(back)
    elif isinstance(value, float):
        assert back == float(f"{value:.12g}") and isinstance(back, float)
    elif isinstance(value, datetime):
        assert back == value.isoformat(sep=" ")
    else:
        assert back == value


def test_round_trip_and_row_order_independence() -> None:
    a = snap.capture(ctx(ROWS))
    b = snap.capture(ctx(list(reversed(ROWS))))
    assert snap.dumps(a, command="c") == snap.dumps(b, command="c")
    assert snap.loads(snap.dumps(a, command="c")) == a


def test_write_load(tmp_path: Path) -> None:
    path = snap.path_for(tmp_path / "specs" / "w.yaml", "t")
    assert path == tmp_path / "specs" / "__snapshots__" / "w" / "t.snap"
    assert snap.load(path) is None
    snap.write(path, snap.capture(ctx(ROWS)), command="c")
    assert snap.load(path) == snap.capture(ctx(ROWS))


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(names, values, min_size=1, max_size=4), max_size=6))
def test_write_of_load_is_a_fixed_point(rows: list[dict[str, Any]]) -> None:
    cols = sorted({k for r in rows for k in r})
    s = snap.Snapshot(
        test="t",
        outputs={
            "o": snap.TableSnapshot(columns={c: "STRING" for c in cols}, key=cols[:1], rows=rows)
        },
    )
    once = snap.dumps(s, command="c")
    twice = snap.dumps(snap.loads(once), command="c")
    assert once == twice


def test_compare_shows_changed_missing_and_new_rows_by_key() -> None:
    recorded = snap.capture(ctx(ROWS))
    changed = [dict(r) for r in ROWS]
    changed[0]["n"] = 4  # ~ changed
    changed.pop(1)  # - missing
    changed.append({"user_id": 7, "window_start": "2024-01-01 05:00:00", "n": 9, "avg": 0.0})
    diff = snap.compare(recorded, snap.capture(ctx(changed, late_dropped=2)))
    assert not diff.clean
    text = diff.render()
    assert "summary: expected 3 rows, got 3, matched 1" in text
    assert (
        "~ [user_id=2, window_start=2024-01-01 01:00:00, avg=0.333333333333] n: expected 3, got 4"
        in text
    )
    assert "- {user_id: 10" in text and "+ {user_id: 7" in text
    assert "late_dropped: 1 recorded, Flink dropped 2" in text
    assert snap.compare(recorded, snap.capture(ctx(list(reversed(ROWS))))).clean


def test_compare_reports_schema_and_input_drift() -> None:
    recorded = snap.capture(ctx(ROWS))
    other = recorded.model_copy(deep=True)
    other.outputs["summary"].columns["n"] = "INT"
    other.inputs["events"].sent = 3
    text = snap.compare(recorded, other).render()
    assert "summary: columns" in text and '"n": "INT"' in text
    assert "inputs.events: {sent: 2, late: 1} recorded, {sent: 3, late: 1} sent now" in text


def test_policy_never_writes_in_ci() -> None:
    assert snap.Policy.resolve(env={}).mode is snap.Mode.CHECK
    assert snap.Policy.resolve(update=True, env={}).mode is snap.Mode.UPDATE
    assert snap.Policy.resolve(env={"CI": "true"}).ci
    with pytest.raises(UsageError, match="refused in CI"):
        snap.Policy.resolve(update=True, env={"CI": "true"})
    with pytest.raises(UsageError):
        snap.Policy.resolve(update=True, ci=True, env={})


def ref(tmp_path: Path, **kw: Any) -> SnapshotRef:
    return SnapshotRef(path=tmp_path / "t.snap", command="ctt run s.yaml --update-snapshots", **kw)


def test_missing_snapshot_fails_with_the_command_and_is_not_written(tmp_path: Path) -> None:
    for r in (ref(tmp_path), ref(tmp_path, ci=True), ref(tmp_path, update=True, ci=True)):
        v = snap.check(r, ctx(ROWS))
        assert not v.passed and "ctt run s.yaml --update-snapshots" in v.summary
        assert not r.path.exists()


def test_update_writes_then_check_passes_then_an_edit_fails(tmp_path: Path) -> None:
    v = snap.check(ref(tmp_path, update=True), ctx(ROWS))
    assert v.passed and v.written and "written" in v.summary
    first = (tmp_path / "t.snap").read_text()
    again = snap.check(ref(tmp_path, update=True), ctx(ROWS))
    assert again.passed and not again.written and "unchanged" in again.summary
    assert snap.check(ref(tmp_path), ctx(list(reversed(ROWS)))).passed
    edited = [dict(r, n=r["n"] * 2) for r in ROWS]
    bad = snap.check(ref(tmp_path), ctx(edited))
    assert not bad.passed and "n: expected 5, got 10" in (bad.details or "")
    assert "if the change is intended: ctt run s.yaml --update-snapshots" in (bad.details or "")
    assert (tmp_path / "t.snap").read_text() == first

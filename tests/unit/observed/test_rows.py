"""Typed normalisation, multiset matching with tolerance, changelog final state, readable diffs."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from ctt.observed.model import Column, OutputRow
from ctt.observed.rows import Comparer, final_state, normalize, render_diff

COLS = [
    Column(name="id", type="BIGINT"),
    Column(name="ts", type="TIMESTAMP(3)"),
    Column(name="amount", type="DECIMAL(10, 2)"),
    Column(name="p", type="TIMESTAMP_LTZ(3) *PROCTIME*"),
]


def test_timestamps_from_yaml_and_flink_json_compare_equal() -> None:
    assert normalize("2026-01-01 10:00:00", "TIMESTAMP(3)") == normalize(
        datetime(2026, 1, 1, 10), "TIMESTAMP(3)"
    )
    assert normalize("2026-01-01 10:00:00.000Z", "TIMESTAMP_LTZ(3)") == datetime(2026, 1, 1, 10)


def test_match_with_tolerance_ignores_proctime_and_counts_extras() -> None:
    cmp = Comparer(COLS, tolerance=0.001)
    expected = [{"id": 1, "amount": 19.99}, {"id": 2, "amount": 0.0}]
    actual = [
        {"id": 2, "amount": 0, "p": "x"},
        {"id": 1, "amount": 19.9901, "p": "y"},
        {"id": 3, "amount": 1},
    ]
    m = cmp.match(expected, actual)
    assert m.matched == 2 and not m.missing and len(m.unexpected) == 1
    assert m.accuracy == 2 / 3


def test_ordered_match_detects_swaps() -> None:
    cmp = Comparer(COLS)
    m = cmp.match_ordered([{"id": 1}, {"id": 2}], [{"id": 2}, {"id": 1}])
    assert m.matched == 0 and not m.perfect


def test_final_state_applies_retractions() -> None:
    recs = [
        OutputRow(op="+I", row={"k": 1, "n": 1}),
        OutputRow(op="-U", row={"k": 1, "n": 1}),
        OutputRow(op="+U", row={"k": 1, "n": 2}),
        OutputRow(op="+I", row={"k": 2, "n": 1}),
        OutputRow(op="-D", row={"k": 2, "n": 1}),
    ]
    assert final_state(recs) == [{"k": 1, "n": 2}]


def test_diff_pairs_rows_and_names_the_differing_field() -> None:
    cmp = Comparer(
        [Column(name="user_id", type="BIGINT"), Column(name="age_category", type="STRING")]
    )
    m = cmp.match(
        [{"user_id": 3, "age_category": "adult"}], [{"user_id": 3, "age_category": "minor"}]
    )
    text = render_diff(m)
    assert "user_id=3" in text and 'age_category: expected "adult", got "minor"' in text


@given(
    st.lists(
        st.dictionaries(st.sampled_from(["a", "b"]), st.integers(-5, 5), min_size=2), max_size=12
    ),
    st.randoms(),
)
def test_unordered_match_is_permutation_invariant(rows: list[dict[str, int]], rnd: object) -> None:
    shuffled = list(rows)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    m = Comparer([Column(name="a", type="INT"), Column(name="b", type="INT")]).match(rows, shuffled)
    assert m.perfect and m.matched == len(rows)

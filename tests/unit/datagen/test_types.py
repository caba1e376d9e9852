from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.datagen.types import Kind, TypeSyntaxError, parse_type

LEAVES = [
    "INT",
    "BIGINT",
    "STRING",
    "VARCHAR(12)",
    "DECIMAL(10, 2)",
    "DOUBLE",
    "BOOLEAN",
    "TIMESTAMP(3)",
    "TIMESTAMP_LTZ(3)",
    "DATE",
]


def test_examples() -> None:
    assert parse_type("VARCHAR(20) NOT NULL").length == 20
    assert not parse_type("VARCHAR(20) NOT NULL").nullable
    dec = parse_type("DECIMAL(10, 2)")
    assert (dec.precision, dec.scale) == (10, 2)
    assert parse_type("TIMESTAMP(3) WITH LOCAL TIME ZONE").kind is Kind.TIMESTAMP_LTZ
    row = parse_type("ROW<a INT, `b c` ARRAY<ROW(x DOUBLE)>>")
    assert [n for n, _ in row.fields] == ["a", "b c"]
    assert row.fields[1][1].element is not None
    assert row.fields[1][1].element.kind is Kind.ROW


@pytest.mark.parametrize("bad", ["", "INTT", "ARRAY<", "MAP<INT>", "DECIMAL(a)", "ROW<a>"])
def test_bad_types_are_errors(bad: str) -> None:
    with pytest.raises(TypeSyntaxError):
        parse_type(bad)


types = st.recursive(
    st.sampled_from(LEAVES),
    lambda inner: st.one_of(
        inner.map(lambda t: f"ARRAY<{t}>"),
        st.tuples(st.sampled_from(["STRING", "INT"]), inner).map(
            lambda kv: f"MAP<{kv[0]}, {kv[1]}>"
        ),
        st.lists(inner, min_size=1, max_size=3).map(
            lambda ts: "ROW<" + ", ".join(f"f{i} {t}" for i, t in enumerate(ts)) + ">"
        ),
    ),
    max_leaves=8,
)


@given(types)
def test_nested_types_parse(text: str) -> None:
    parsed = parse_type(text)
    assert parsed.kind.value in text or parsed.kind in (Kind.STRING, Kind.INT)


@given(st.text(max_size=30))
def test_garbage_raises_only_type_errors(text: str) -> None:
    with contextlib.suppress(TypeSyntaxError):
        parse_type(text)

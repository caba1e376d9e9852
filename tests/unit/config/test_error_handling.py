"""The spec's error_handling section: bad input is a ConfigError at the user's line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctt.config.datagen import MalformedKind
from ctt.errors import ConfigError
from ctt.validate.registry import load_spec

HEAD = """flink_transformation_tests:
  t:
    flink_sql: "CREATE TABLE o AS SELECT * FROM orders"
    tables:
      orders:
        schema: {order_id: BIGINT, product: STRING, quantity: INT, ts: TIMESTAMP(3)}
    test_data:
      orders:
        generate: {count: 50, fields: {product: {enum: [a, b]}}}
"""


def _load(tmp_path: Path, section: str) -> object:
    p = tmp_path / "spec.yaml"
    p.write_text(HEAD + section)
    return load_spec(p)


def test_a_valid_section_mixes_the_counts_into_the_generator(tmp_path: Path) -> None:
    (lt,) = _load(
        tmp_path,
        "    error_handling:\n      malformed: {not_json: 2, unknown_enum: 1}\n"
        "      poison: {field: quantity, value: 0}\n",
    )
    cfg = lt.test.generated_data()["orders"]  # type: ignore[attr-defined]
    assert cfg.malformed.counts == {
        MalformedKind.NOT_JSON: 2,
        MalformedKind.UNKNOWN_ENUM: 1,
        MalformedKind.POISON: 1,
    }
    assert cfg.malformed.enum_field == "product"
    assert cfg.malformed.poison_field == "quantity"


@pytest.mark.parametrize(
    ("section", "line", "text"),
    [
        ("    error_handling:\n      malformed: {not_jsn: 2}\n", 11, "not_jsn"),
        ("    error_handling:\n      malformed: {not_json: -1}\n", 10, "0 or more"),
        ("    error_handling:\n      poison: {field: qty, value: 0}\n", 11, "no column 'qty'"),
        ("    error_handling:\n      source: order\n", 11, "no `generate:`"),
        ("    error_handling:\n      routing: sql\n", 11, "declare the dead-letter table"),
        ("    error_handling:\n      malformed: {poison: 1}\n", 10, "under `poison:`"),
        ("    error_handling:\n      enums: {prodct: [a]}\n", 11, "did you mean 'product'"),
        ("    error_handling:\n      routng: sql\n", 11, "routing"),
    ],
)
def test_errors_point_at_the_line(tmp_path: Path, section: str, line: int, text: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, section)
    assert text in str(err.value) + str(err.value.hint or "")
    assert err.value.line == line, str(err.value)


def test_bad_timestamp_needs_a_timestamp_column(tmp_path: Path) -> None:
    p = tmp_path / "spec.yaml"
    p.write_text(
        HEAD.replace(", ts: TIMESTAMP(3)", "")
        + "    error_handling:\n      malformed: {bad_timestamp: 1}\n"
    )
    with pytest.raises(ConfigError, match="no TIMESTAMP column") as err:
        load_spec(p)
    assert err.value.line == 11


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.one_of(
        st.integers(),
        st.text(max_size=8),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=6), st.integers(-2, 3), max_size=3),
        st.none(),
    ),
    key=st.sampled_from(["malformed", "poison", "routing", "max_record_bytes", "required", "x"]),
)
def test_any_value_is_accepted_or_a_config_error(tmp_path: Path, value: object, key: str) -> None:
    p = tmp_path / "spec.yaml"
    p.write_text(HEAD + f"    error_handling:\n      {key}: {json.dumps(value)}\n")
    try:
        load_spec(p)
    except ConfigError as exc:
        assert exc.line is not None

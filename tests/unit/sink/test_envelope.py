"""Connect JSON envelopes: the schema ctt declares per Flink type, and how ctt reads them back."""

from __future__ import annotations

import json

import pytest

from ctt.config.sink import Nested
from ctt.flinktest.outputs import decode
from ctt.kafka.consume import ConsumedRecord
from ctt.observed.model import Column
from ctt.sink import envelope
from ctt.sql.ddl import SinkMode


@pytest.mark.parametrize(
    ("flink", "expected"),
    [
        ("BIGINT", {"type": "int64"}),
        ("INT NOT NULL", {"type": "int32", "optional": False}),
        ("STRING", {"type": "string"}),
        ("DOUBLE", {"type": "double"}),
        (
            "DECIMAL(10, 2)",
            {
                "type": "bytes",
                "name": envelope.DECIMAL,
                "parameters": {"scale": "2", "connect.decimal.precision": "10"},
            },
        ),
        ("TIMESTAMP_LTZ(3)", {"type": "string", "name": envelope.ZONED_TIMESTAMP}),
        ("TIMESTAMP(3)", {"type": "int64", "name": envelope.TIMESTAMP}),
        ("DATE", {"type": "int32", "name": envelope.DATE}),
        ("ARRAY<STRING>", {"type": "string", "name": envelope.JSON_TEXT}),
    ],
)
def test_each_flink_type_maps_to_a_connect_schema(flink: str, expected: dict[str, object]) -> None:
    got = envelope.field_schema(Column(name="c", type=flink), Nested.JSON)
    assert got["field"] == "c"
    for key, value in expected.items():
        assert got[key] == value


def test_a_row_is_a_struct_to_flatten_or_json_text() -> None:
    col = Column(name="addr", type="ROW<`city` STRING, `zip` INT>")
    flat = envelope.field_schema(col, Nested.FLATTEN)
    assert flat["type"] == "struct"
    assert [f["field"] for f in flat["fields"]] == ["city", "zip"]
    assert envelope.field_schema(col, Nested.JSON)["name"] == envelope.JSON_TEXT


def test_row_fields_keep_nested_types_with_commas() -> None:
    fields = envelope.row_fields("ROW<`a` DECIMAL(10, 2), `b` ROW<`c` INT, `d` STRING>> NOT NULL")
    assert [(f.name, f.type) for f in fields] == [
        ("a", "DECIMAL(10, 2)"),
        ("b", "ROW<`c` INT, `d` STRING>"),
    ]


def test_an_unsupported_type_names_its_column() -> None:
    with pytest.raises(envelope.UnsupportedType, match="'blob'"):
        envelope.field_schema(Column(name="blob", type="BYTES"), Nested.JSON)


def test_the_envelope_sql_quotes_names_and_maps_nulls() -> None:
    sql = envelope.envelope_sql(
        [Column(name="it's", type="STRING"), Column(name="ts", type="TIMESTAMP_LTZ(3)")],
        Nested.JSON,
        name="o.Value",
    )
    assert "'{\"it''s\":'" in sql  # the JSON key inside a SQL string literal
    assert "CASE WHEN `ts` IS NULL THEN 'null'" in sql
    assert '"name":"o.Value"' in sql and '"field":"it\'\'s"' in sql


def _record(value: dict[str, object] | None, key: bytes | None = None) -> ConsumedRecord:
    raw = None if value is None else json.dumps(value).encode()
    return ConsumedRecord(
        topic="t", partition=0, offset=0, key=key, value=raw, timestamp_ms=0, received_at=1.0
    )


def test_ctt_reads_the_payload_back_with_json_and_dates_restored() -> None:
    schema = envelope.struct_schema(
        [
            Column(name="id", type="BIGINT"),
            Column(name="addr", type="ROW<`city` STRING>"),
            Column(name="d", type="DATE"),
        ],
        Nested.JSON,
        name="o.Value",
    )
    value = {"schema": schema, "payload": {"id": 1, "addr": '{"city":"x"}', "d": 19724}}
    (row,) = decode(_record(value), SinkMode.APPEND, {}, envelope=True)
    assert row.row == {"id": 1, "addr": {"city": "x"}, "d": "2024-01-02"}


def test_an_upsert_tombstone_of_an_envelope_deletes_the_last_row() -> None:
    schema = envelope.struct_schema([Column(name="id", type="BIGINT")], Nested.JSON, name="v")
    last: dict[bytes, object] = {}
    first = decode(
        _record({"schema": schema, "payload": {"id": 1}}, b"k"),
        SinkMode.UPSERT,
        last,
        envelope=True,
    )
    gone = decode(_record(None, b"k"), SinkMode.UPSERT, last, envelope=True)
    assert [r.op for r in first] == ["+I"] and [r.op for r in gone] == ["-D"]
    assert gone[0].row == {"id": 1}


def test_inside_a_json_row_nested_values_stay_json_not_strings_of_json() -> None:
    col = Column(name="c", type="ROW<`a` ROW<`b` INT>, `t` ARRAY<INT>>")
    as_json = envelope.envelope_sql([col], Nested.JSON, name="v")
    assert as_json.count("JSON_STRING(JSON_STRING(") == 0  # the whole ROW is one JSON string
    flat = envelope.envelope_sql([col], Nested.FLATTEN, name="v")
    assert "JSON_STRING(JSON_STRING(`c`.`t`))" in flat  # an array field of a struct is Json text

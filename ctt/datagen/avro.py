"""Avro schema derived from a table, and an encoder for generated rows (schemaless, as Flink's 'avro' format reads).

Mapping follows Flink's Avro format: DECIMAL -> bytes/decimal, TIMESTAMP(3) and
TIMESTAMP_LTZ(3) -> long/timestamp-millis, DATE -> int/date, ROW -> record,
nullable -> union with null first.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import fastavro

from ctt.config.datagen import TableShape
from ctt.datagen.types import Kind, SqlType, parse_type

Converter = Callable[[Any], Any]


def _name(text: str) -> str:
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in text)
    return out if out and not out[0].isdigit() else f"_{out}"


def avro_type(sql: SqlType, path: str) -> Any:
    """The Avro schema of one SQL type (``path`` names nested records uniquely)."""
    base: Any
    if sql.kind in (Kind.TINYINT, Kind.SMALLINT, Kind.INT):
        base = "int"
    elif sql.kind is Kind.BIGINT:
        base = "long"
    elif sql.kind is Kind.FLOAT:
        base = "float"
    elif sql.kind is Kind.DOUBLE:
        base = "double"
    elif sql.kind is Kind.BOOLEAN:
        base = "boolean"
    elif sql.kind is Kind.DECIMAL:
        base = {
            "type": "bytes",
            "logicalType": "decimal",
            "precision": sql.precision or 10,
            "scale": sql.scale or 0,
        }
    elif sql.kind in (Kind.TIMESTAMP, Kind.TIMESTAMP_LTZ):
        base = {"type": "long", "logicalType": "timestamp-millis"}
    elif sql.kind is Kind.DATE:
        base = {"type": "int", "logicalType": "date"}
    elif sql.kind is Kind.BYTES:
        base = "bytes"
    elif sql.kind is Kind.ARRAY:
        assert sql.element is not None
        base = {"type": "array", "items": avro_type(sql.element, path + "_item")}
    elif sql.kind is Kind.MAP:
        assert sql.element is not None
        base = {"type": "map", "values": avro_type(sql.element, path + "_value")}
    elif sql.kind is Kind.ROW:
        base = {
            "type": "record",
            "name": _name(path),
            "fields": [{"name": n, "type": avro_type(t, f"{path}_{n}")} for n, t in sql.fields],
        }
    else:  # STRING, TIME
        base = "string"
    return ["null", base] if sql.nullable else base


def table_schema(table: TableShape) -> dict[str, Any]:
    """The record schema of a table's value (all physical columns)."""
    return {
        "type": "record",
        "name": _name(table.name),
        "namespace": "ctt.generated",
        "fields": [
            {"name": c.name, "type": avro_type(parse_type(c.type), f"{table.name}_{c.name}")}
            for c in table.columns
        ],
    }


def _ts(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.strptime(value.rstrip("Z"), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    return value


def _converter(sql: SqlType) -> Converter | None:
    """JSON-form value -> what fastavro expects; None when no conversion is needed."""
    if sql.kind is Kind.DECIMAL:
        scale = sql.scale or 0
        return lambda v: Decimal(str(v)).quantize(Decimal(1).scaleb(-scale)) if v is not None else v
    if sql.kind in (Kind.TIMESTAMP, Kind.TIMESTAMP_LTZ):
        return _ts
    if sql.kind is Kind.DATE:
        return lambda v: date.fromisoformat(v) if isinstance(v, str) else v
    if sql.kind is Kind.BYTES:
        return lambda v: v.encode() if isinstance(v, str) else v
    if sql.kind is Kind.ARRAY and sql.element is not None:
        item = _converter(sql.element)
        if item is not None:
            return lambda v: [item(x) for x in v] if v is not None else v
    if sql.kind is Kind.MAP and sql.element is not None:
        inner = _converter(sql.element)
        if inner is not None:
            return lambda v: {k: inner(x) for k, x in v.items()} if v is not None else v
    if sql.kind is Kind.ROW:
        subs = {n: c for n, t in sql.fields if (c := _converter(t)) is not None}
        if subs:
            return lambda v: {k: subs[k](x) if k in subs else x for k, x in v.items()} if v else v
    return None


class AvroEncoder:
    """Encodes a table's JSON-form rows as schemaless Avro."""

    def __init__(self, table: TableShape) -> None:
        self.schema = table_schema(table)
        self._parsed = fastavro.parse_schema(self.schema)
        self._convert = {
            c.name: conv for c in table.columns if (conv := _converter(parse_type(c.type)))
        }

    def encode(self, row: dict[str, Any]) -> bytes:
        native = {k: (self._convert[k](v) if k in self._convert else v) for k, v in row.items()}
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self._parsed, native)
        return buf.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        """For tests and tools: the row back from bytes."""
        result = fastavro.schemaless_reader(io.BytesIO(data), self._parsed, None)
        assert isinstance(result, dict)
        return result

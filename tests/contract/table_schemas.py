"""The Avro schemas Confluent Cloud registers for a table's key and value at ``CREATE TABLE``.

Written for the contract world from the documented type mapping (Flink SQL type ->
Avro: INT/BIGINT/FLOAT/DOUBLE/BOOLEAN/STRING/BYTES as such, DECIMAL -> bytes with
the decimal logical type, DATE -> int/date, TIME -> int/time-millis, TIMESTAMP and
TIMESTAMP_LTZ -> long/timestamp-millis (or -micros above precision 3), ROW ->
record, nullable -> a union with null first). Record names follow Apache Flink's
converter (``org.apache.flink.avro.generated.record``, nested ``record_<field>``), so
that Flink's ``avro-confluent`` format on the local stack resolves a writer schema
registered here against its own reader schema exactly as it would its own.

Deliberately not ctt's own Avro mapping (``ctt.datagen.avro``): the registry plays
Confluent Cloud, and ctt must cope with what the service registered.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ctt.datagen.types import Kind, SqlType, parse_type
from ctt.sql.ddl import name_and_rest, split_top_level

NAMESPACE = "org.apache.flink.avro.generated"
_SKIP = ("WATERMARK", "PRIMARY", "CONSTRAINT")
_PLAIN = {
    Kind.TINYINT: "int",
    Kind.SMALLINT: "int",
    Kind.INT: "int",
    Kind.BIGINT: "long",
    Kind.FLOAT: "float",
    Kind.DOUBLE: "double",
    Kind.BOOLEAN: "boolean",
    Kind.STRING: "string",
    Kind.BYTES: "bytes",
}


def physical_columns(columns: str) -> list[tuple[str, SqlType]]:
    """(name, type) of the physical columns: no watermark, constraint, computed or metadata column."""
    out = []
    for item in split_top_level(columns):
        if item.split(None, 1)[0].upper() in _SKIP:
            continue
        name, rest = name_and_rest(item)
        words = rest.upper().split()
        if (words and words[0] == "AS") or "METADATA" in words:
            continue
        for tail in ("PRIMARY KEY NOT ENFORCED", "NOT ENFORCED"):
            if rest.upper().endswith(tail):
                rest = rest[: -len(tail)].strip()
        out.append((name, parse_type(rest)))
    return out


def primary_key(columns: str) -> list[str]:
    """The columns of a ``[CONSTRAINT c] PRIMARY KEY (...) NOT ENFORCED`` item of the column list."""
    for item in split_top_level(columns):
        at = item.upper().find("PRIMARY KEY (")
        if at >= 0:
            inner = item[at + len("PRIMARY KEY (") : item.index(")", at)]
            return [c.strip().strip("`") for c in inner.split(",")]
    return []


def _avro(sql: SqlType, name: str) -> Any:
    schema: Any
    if sql.kind in _PLAIN:
        schema = _PLAIN[sql.kind]
    elif sql.kind is Kind.DECIMAL:
        schema = {
            "type": "bytes",
            "logicalType": "decimal",
            "precision": sql.precision or 10,
            "scale": sql.scale or 0,
        }
    elif sql.kind is Kind.DATE:
        schema = {"type": "int", "logicalType": "date"}
    elif sql.kind is Kind.TIME:
        schema = {"type": "int", "logicalType": "time-millis"}
    elif sql.kind in (Kind.TIMESTAMP, Kind.TIMESTAMP_LTZ):
        micros = (sql.precision if sql.precision is not None else 3) > 3
        schema = {"type": "long", "logicalType": "timestamp-micros" if micros else "timestamp-millis"}
    elif sql.kind is Kind.ARRAY:
        assert sql.element is not None
        schema = {"type": "array", "items": _avro(sql.element, name)}
    elif sql.kind is Kind.MAP:
        assert sql.element is not None
        schema = {"type": "map", "values": _avro(sql.element, name)}
    else:  # ROW
        schema = _record(name, list(sql.fields))
    return ["null", schema] if sql.nullable else schema


def _record(name: str, fields: Sequence[tuple[str, SqlType]]) -> dict[str, Any]:
    return {
        "type": "record",
        "name": name.rsplit(".", 1)[-1],
        "namespace": NAMESPACE,
        "fields": [
            {"name": f, "type": _avro(t, f"{name}_{f}"), **({"default": None} if t.nullable else {})}
            for f, t in fields
        ],
    }


def record_schema(columns: Sequence[tuple[str, SqlType]]) -> str:
    """The registered schema text of a record of these columns."""
    return json.dumps(_record("record", columns))

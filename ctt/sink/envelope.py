"""Kafka Connect's JSON envelope, written by Flink: ``{"schema": ..., "payload": ...}`` per record.

The JDBC sink needs each column's type, and Connect's ``JsonConverter`` with
``schemas.enable=true`` reads it from the record itself. Flink's ``json`` format writes
rows without one, so for a test with ``sink: {schemas: true}`` ctt has Flink write the
output topic as text it builds in SQL: the schema is a constant made here from the
output's column types, the payload a concatenation of ``JSON_STRING`` fragments, one
per column (``'null'`` for SQL NULL). Types map so that the table the connector creates
keeps them (docs/spec-reference.md, ``sink:``):

- ``DECIMAL(p, s)``: Connect ``Decimal`` (``numeric(p, s)``), the payload a JSON number;
- ``TIMESTAMP_LTZ``: Debezium ``ZonedTimestamp``, ISO-8601 in UTC (``timestamptz``);
- ``TIMESTAMP``: Connect ``Timestamp``, epoch milliseconds (``timestamp``);
- ``DATE``: Connect ``Date``, days since 1970 (``date``);
- ``ROW``: a nested struct that Kafka's ``Flatten`` transform turns into ``<row>_<field>``
  columns (``nested: flatten``), or Debezium ``Json`` text (``nested: json``, ``json``);
  ``ARRAY`` and ``MAP`` are always ``Json``.

The session runs in UTC (``table.local-time-zone``), which the timestamp fragments rely on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ctt.config.sink import Nested
from ctt.observed.model import Column, base_type
from ctt.sql.ddl import clean_type, name_and_rest, quote, split_top_level

DECIMAL = "org.apache.kafka.connect.data.Decimal"
TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"
DATE = "org.apache.kafka.connect.data.Date"
ZONED_TIMESTAMP = "io.debezium.time.ZonedTimestamp"
JSON_TEXT = "io.debezium.data.Json"

_SIMPLE = {
    "TINYINT": "int8",
    "SMALLINT": "int16",
    "INT": "int32",
    "INTEGER": "int32",
    "BIGINT": "int64",
    "FLOAT": "float",
    "REAL": "float",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "STRING": "string",
    "VARCHAR": "string",
    "CHAR": "string",
}
_ISO_UTC = "yyyy-MM-dd''T''HH:mm:ss.SSS''Z''"

KEY_COLUMN = "__ctt_key"
VALUE_COLUMN = "__ctt_value"


class UnsupportedType(ValueError):
    """A column type the envelope cannot carry (the message names the column)."""


def row_fields(flink_type: str) -> list[Column]:
    """The fields of ``ROW<`a` INT, `b` STRING>`` (also ``ROW(a INT, b STRING)``)."""
    t = clean_type(flink_type).strip()
    inner = t[t.index("<") + 1 : t.rindex(">")] if "<" in t else t[t.index("(") + 1 : t.rindex(")")]
    fields = []
    for part in split_top_level(inner):
        name, typ = name_and_rest(part)
        typ = typ.split(" COMMENT ", 1)[0].strip()
        fields.append(Column(name=name, type=typ))
    return fields


def _params(flink_type: str) -> list[int]:
    inside = (
        flink_type[flink_type.find("(") + 1 : flink_type.find(")")] if "(" in flink_type else ""
    )
    return [int(p) for p in inside.split(",") if p.strip().isdigit()]


def _optional(flink_type: str) -> bool:
    return "NOT NULL" not in flink_type.upper()


def field_schema(col: Column, nested: Nested) -> dict[str, Any]:
    """The Connect schema of one column (``field`` set: it is a struct member)."""
    kind = base_type(col.type)
    out: dict[str, Any] = {"field": col.name, "optional": _optional(col.type)}
    if kind in _SIMPLE:
        out["type"] = _SIMPLE[kind]
    elif kind in ("DECIMAL", "DEC", "NUMERIC"):
        p = _params(col.type) or [10, 0]
        precision, scale = p[0], (p[1] if len(p) > 1 else 0)
        out |= {
            "type": "bytes",
            "name": DECIMAL,
            "version": 1,
            "parameters": {"scale": str(scale), "connect.decimal.precision": str(precision)},
        }
    elif kind in ("TIMESTAMP_LTZ", "TIMESTAMP_WITH_LOCAL_TIME_ZONE"):
        out |= {"type": "string", "name": ZONED_TIMESTAMP, "version": 1}
    elif kind == "TIMESTAMP":
        out |= {"type": "int64", "name": TIMESTAMP, "version": 1}
    elif kind == "DATE":
        out |= {"type": "int32", "name": DATE, "version": 1}
    elif kind == "ROW" and nested is Nested.FLATTEN:
        out |= {
            "type": "struct",
            "fields": [field_schema(f, nested) for f in row_fields(col.type)],
        }
    elif kind in ("ROW", "ARRAY", "MAP", "MULTISET"):
        out |= {"type": "string", "name": JSON_TEXT, "version": 1}
    else:
        raise UnsupportedType(
            f"column {col.name!r} of type {col.type}: the Connect envelope carries numbers, "
            "text, BOOLEAN, DECIMAL, DATE, TIMESTAMP, TIMESTAMP_LTZ, ROW, ARRAY and MAP"
        )
    return out


def struct_schema(columns: Sequence[Column], nested: Nested, *, name: str) -> dict[str, Any]:
    return {
        "type": "struct",
        "name": name,
        "optional": False,
        "fields": [field_schema(c, nested) for c in columns],
    }


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fragment(expr: str, col: Column, nested: Nested, *, inner: bool = False) -> str:
    """SQL for the JSON text of one value (never NULL: SQL NULL is ``'null'``).

    A ROW's fields (``inner``) are plain JSON inside its object; at the top, a ROW under
    ``nested: json`` and every ARRAY or MAP is that JSON as a string (Debezium's ``Json``).
    """
    kind = base_type(col.type)
    as_text = not inner
    if kind in ("TIMESTAMP_LTZ", "TIMESTAMP_WITH_LOCAL_TIME_ZONE"):
        text = f"'\"' || DATE_FORMAT(CAST({expr} AS TIMESTAMP(3)), '{_ISO_UTC}') || '\"'"
    elif kind == "TIMESTAMP":
        text = (
            f"CAST(UNIX_TIMESTAMP(DATE_FORMAT({expr}, 'yyyy-MM-dd HH:mm:ss')) * 1000 "
            f"+ CAST(DATE_FORMAT({expr}, 'SSS') AS BIGINT) AS STRING)"
        )
    elif kind == "DATE":
        text = f"CAST(TIMESTAMPDIFF(DAY, DATE '1970-01-01', {expr}) AS STRING)"
    elif kind == "ROW":
        members = [(f"{expr}.{quote(f.name)}", f) for f in row_fields(col.type)]
        obj = _object(members, nested=nested, inner=True)
        text = f"JSON_STRING({obj})" if as_text and nested is Nested.JSON else obj
    elif kind in ("ARRAY", "MAP", "MULTISET"):
        # a string (Debezium Json) unless it sits in a ROW written as JSON text as a whole
        string = as_text or nested is Nested.FLATTEN
        text = f"JSON_STRING(JSON_STRING({expr}))" if string else f"JSON_STRING({expr})"
    else:
        text = f"JSON_STRING({expr})"
    return f"CASE WHEN {expr} IS NULL THEN 'null' ELSE {text} END"


def _object(members: Sequence[tuple[str, Column]], *, nested: Nested, inner: bool = False) -> str:
    parts = []
    for i, (expr, col) in enumerate(members):
        key = ("{" if i == 0 else ",") + json.dumps(col.name) + ":"
        parts += [_sql_string(key), _fragment(expr, col, nested, inner=inner)]
    return " || ".join(parts) + " || '}'" if parts else "'{}'"


def envelope_sql(columns: Sequence[Column], nested: Nested, *, name: str) -> str:
    """A SQL expression over ``columns`` (in scope by name) that yields one record's envelope."""
    schema = json.dumps(struct_schema(columns, nested, name=name), separators=(",", ":"))
    payload = _object([(quote(c.name), c) for c in columns], nested=nested)
    head = _sql_string('{"schema":' + schema + ',"payload":')
    return f"{head} || {payload} || '}}'"


def unwrap(value: Any) -> Any:
    """The payload of a decoded envelope (a record without one is returned as is)."""
    if isinstance(value, dict) and set(value) == {"schema", "payload"}:
        return value["payload"]
    return value


__all__ = [
    "KEY_COLUMN",
    "VALUE_COLUMN",
    "UnsupportedType",
    "envelope_sql",
    "field_schema",
    "row_fields",
    "struct_schema",
    "unwrap",
]

"""Generated dead-letter routing for the local engine: a raw source, a parsing view, a DLQ branch.

With ``error_handling: {routing: generated}`` the routed source table is not declared as
a JSON table (whose format would fail the job, or skip the record, on the first bad
one). Instead ctt declares:

1. ``__ctt_raw_<table>`` over the table's topic with ``'format' = 'raw'``: one
   ``payload STRING`` column, the table's columns as computed columns
   (``TRY_CAST(JSON_VALUE(payload, '$.col') AS type)``), the table's watermark, and a
   ``__ctt_reason`` column that names the first check a record fails (``not_json``,
   ``missing_field: col``, ``wrong_type: col``, ``bad_timestamp: col``,
   ``unknown_enum: col``, ``oversized``, ``empty``), NULL for a good record;
2. a temporary view named like the table over the good records, so the test's SQL
   reads it unchanged;
3. the dead-letter sink (``payload``, ``reason``) and an ``INSERT`` into it of every
   record with a reason, run in the same ``EXECUTE STATEMENT SET`` as the test's
   INSERTs: one job, one read of the topic.

A record without a valid event time would stop the watermark assigner ("RowTime field
should not be null"), so the event-time column falls back to the epoch for bad records:
they never reach the view and the epoch never moves a watermark (it only advances).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ctt.config.error_handling import ErrorHandling
from ctt.config.spec import TableDef
from ctt.sql.ddl import bounded_offsets, clean_type, kafka_options, quote

REASON = "__ctt_reason"
PAYLOAD = "payload"
DLQ_COLUMNS = (("payload", "STRING"), ("reason", "STRING"))
_SCALAR = re.compile(
    r"^(TINYINT|SMALLINT|INT|INTEGER|BIGINT|FLOAT|DOUBLE|DECIMAL|DEC|NUMERIC|BOOLEAN|STRING|"
    r"VARCHAR|CHAR|DATE|TIME|TIMESTAMP|TIMESTAMP_LTZ)\b",
    re.IGNORECASE,
)


class RoutingUnsupported(ValueError):
    """The table needs routing ctt does not generate; the spec should route in its SQL."""


def raw_name(table: str) -> str:
    return f"__ctt_raw_{table}"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _path(column: str) -> str:
    return _lit(f"$.{column}")


def _value(column: str) -> str:
    return f"JSON_VALUE({quote(PAYLOAD)}, {_path(column)})"


def _base(flink_type: str) -> str:
    return clean_type(flink_type).replace(" NOT NULL", "").strip()


def check_supported(name: str, table: TableDef) -> None:
    """RoutingUnsupported when ctt cannot parse this table's records in SQL."""
    if table.updating:
        raise RoutingUnsupported(
            f"table {name!r} is an upsert/versioned table: generated routing reads append-only "
            "tables; route in the SQL (`routing: sql`)"
        )
    if table.format.value != "json":
        raise RoutingUnsupported(f"table {name!r}: generated routing parses JSON records only")
    for col, typ in table.schema_.items():
        if not _SCALAR.match(typ.strip()):
            raise RoutingUnsupported(
                f"table {name!r}: column {col!r} is {typ}; generated routing parses scalar "
                "columns only: route in the SQL (`routing: sql`)"
            )


def reason_expression(
    table: TableDef, eh: ErrorHandling, enums: Mapping[str, Sequence[str]]
) -> str:
    """A CASE naming the first check a payload fails, NULL when it passes them all."""
    p = quote(PAYLOAD)
    whens = [
        (f"{p} IS NULL", "'empty'"),
        (f"CHAR_LENGTH({p}) > {eh.max_record_bytes}", "'oversized'"),
        (f"NOT ({p} IS JSON OBJECT)", "'not_json'"),
    ]
    required = eh.required if eh.required is not None else list(table.schema_)
    whens += [(f"NOT JSON_EXISTS({p}, {_path(c)})", _lit(f"missing_field: {c}")) for c in required]
    for col, typ in table.schema_.items():
        base = _base(typ)
        if base.upper().startswith(("STRING", "VARCHAR", "CHAR")):
            continue
        kind = "bad_timestamp" if base.upper().startswith("TIMESTAMP") else "wrong_type"
        cond = f"{_value(col)} IS NOT NULL AND TRY_CAST({_value(col)} AS {base}) IS NULL"
        whens.append((cond, _lit(f"{kind}: {col}")))
    for col, values in enums.items():
        allowed = ", ".join(_lit(v) for v in values)
        whens.append((f"{_value(col)} NOT IN ({allowed})", _lit(f"unknown_enum: {col}")))
    body = "\n    ".join(f"WHEN {c} THEN {r}" for c, r in whens)
    return f"CASE\n    {body}\n    ELSE CAST(NULL AS STRING)\n  END"


def _epoch(base: str) -> str:
    if base.upper().startswith("TIMESTAMP_LTZ"):
        return "TO_TIMESTAMP_LTZ(0, 3)"
    return "TIMESTAMP '1970-01-01 00:00:00'"


def raw_source(
    name: str,
    table: TableDef,
    eh: ErrorHandling,
    enums: Mapping[str, Sequence[str]],
    *,
    topic: str,
    bootstrap: str,
    bounded: Mapping[int, int] | None,
    properties: Mapping[str, str] | None = None,
) -> str:
    """CREATE TABLE of the raw source: payload, parsed columns, reason, watermark."""
    cols = [f"{quote(PAYLOAD)} STRING"]
    wm_col = table.watermark.column if table.watermark else None
    for col, typ in table.schema_.items():
        base = _base(typ)
        parsed = f"TRY_CAST({_value(col)} AS {base})"
        if col == wm_col:
            parsed = f"CAST(COALESCE({parsed}, {_epoch(base)}) AS {base})"
        cols.append(f"{quote(col)} AS {parsed}")
    cols.append(f"{quote(REASON)} AS {reason_expression(table, eh, enums)}")
    if table.watermark is not None:
        cols.append(table.watermark.sql())
    columns = ",\n  ".join(cols)
    return (
        f"CREATE TABLE {quote(raw_name(name))} (\n  {columns}\n) "
        f"WITH (\n  {_raw_options(topic, bootstrap, bounded, properties)}\n)"
    )


def _raw_options(
    topic: str,
    bootstrap: str,
    bounded: Mapping[int, int] | None,
    properties: Mapping[str, str] | None = None,
) -> str:
    opts = {
        "connector": "kafka",
        "topic": topic,
        **kafka_options(bootstrap, properties),
        "scan.startup.mode": "earliest-offset",
        "format": "raw",
        "raw.charset": "UTF-8",
    }
    if bounded is not None:
        opts.update(bounded_offsets(bounded))
    return ",\n  ".join(f"'{k}' = '{v}'" for k, v in opts.items())


def payload_table(
    name: str,
    *,
    topic: str,
    bootstrap: str,
    bounded: Mapping[int, int] | None,
    properties: Mapping[str, str] | None = None,
) -> str:
    """CREATE TABLE of one ``payload STRING`` column over a topic: what a routing SQL parses."""
    return (
        f"CREATE TABLE {quote(name)} (\n  {quote(PAYLOAD)} STRING\n) "
        f"WITH (\n  {_raw_options(topic, bootstrap, bounded, properties)}\n)"
    )


def good_view(name: str, table: TableDef) -> str:
    """The view the test's SQL reads under the table's own name: the records with no reason."""
    cols = ", ".join(quote(c) for c in table.schema_)
    return (
        f"CREATE TEMPORARY VIEW {quote(name)} AS SELECT {cols} "
        f"FROM {quote(raw_name(name))} WHERE {quote(REASON)} IS NULL"
    )


def dlq_insert(name: str, dead_letter: str) -> str:
    """The statement-set branch that sends every record with a reason to the dead-letter table."""
    return (
        f"INSERT INTO {quote(dead_letter)} SELECT {quote(PAYLOAD)}, {quote(REASON)} "
        f"FROM {quote(raw_name(name))} WHERE {quote(REASON)} IS NOT NULL"
    )


__all__ = [
    "DLQ_COLUMNS",
    "RoutingUnsupported",
    "check_supported",
    "dlq_insert",
    "good_view",
    "payload_table",
    "raw_name",
    "raw_source",
    "reason_expression",
]

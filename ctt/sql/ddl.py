"""Table DDL for the local engine: a spec's tables become Kafka-backed Flink tables on run-scoped topics.

Users write Confluent-style SQL where tables are topics and CTAS needs no
connector options. Locally, ctt declares each table with the Kafka connector
(``upsert-kafka`` when it has a primary key) and gives CTAS targets a sink
whose connector follows the query's changelog mode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum

from ctt.config.spec import TableDef, Watermark

_MARKERS = re.compile(r"\s*\*(PROCTIME|ROWTIME)\*\s*", re.IGNORECASE)


class SinkMode(StrEnum):
    APPEND = "append"  # kafka + json: one record per row
    UPSERT = "upsert"  # upsert-kafka: keyed, last value wins, tombstones delete
    RETRACT = "retract"  # kafka + debezium-json: full changelog without a key


def split_top_level(text: str) -> list[str]:
    """``a INT, b ROW<c INT, d STRING>`` -> the two items: commas inside ``<>``, ``()``,
    backticks or single quotes stay."""
    out: list[str] = []
    cur: list[str] = []
    depth, quote_char = 0, ""
    for ch in text:
        if quote_char:
            quote_char = "" if ch == quote_char else quote_char
        elif ch in "`'":
            quote_char = ch
        elif ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def name_and_rest(item: str) -> tuple[str, str]:
    """A column or field definition's name (backticks taken off) and the text after it."""
    if item.startswith("`"):
        end = item.index("`", 1)
        return item[1:end], item[end + 1 :].strip()
    name, _, rest = item.partition(" ")
    return name, rest.strip()


def clean_type(flink_type: str) -> str:
    """A column type fit for DDL (DESCRIBE adds *PROCTIME*/*ROWTIME* markers)."""
    return _MARKERS.sub("", flink_type).strip()


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _opts(options: Mapping[str, str]) -> str:
    return ",\n  ".join(f"'{k}' = '{v}'" for k, v in options.items())


def alter_options(table: str, options: Mapping[str, str]) -> str:
    """Change options of an existing table: a statement planned after it sees them."""
    opts = ", ".join(f"'{k}' = '{v}'" for k, v in options.items())
    return f"ALTER TABLE {quote(table)} SET ({opts})"


def bounded_offsets(offsets: Mapping[int, int]) -> dict[str, str]:
    """Source options that end the source at these per-partition offsets (exclusive)."""
    spec = ";".join(f"partition:{p},offset:{o}" for p, o in sorted(offsets.items()))
    return {"scan.bounded.mode": "specific-offsets", "scan.bounded.specific-offsets": spec}


def _columns(
    columns: Sequence[tuple[str, str]], watermark: Watermark | None, pk: Sequence[str]
) -> str:
    parts = [f"{quote(n)} {clean_type(t)}" for n, t in columns]
    if watermark is not None:
        parts.append(watermark.sql())
    if pk:
        parts.append(f"PRIMARY KEY ({', '.join(quote(c) for c in pk)}) NOT ENFORCED")
    return ",\n  ".join(parts)


def kafka_options(bootstrap: str, properties: Mapping[str, str] | None = None) -> dict[str, str]:
    """The connector's Kafka client settings: the brokers and, for a secured cluster, the
    rest of the client's configuration (``security.protocol``, ``sasl.*``, ``ssl.*``)."""
    opts = {"properties.bootstrap.servers": bootstrap}
    opts.update({f"properties.{k}": v for k, v in (properties or {}).items()})
    return opts


def _format_options(fmt: str, prefix: str = "") -> dict[str, str]:
    out = {f"{prefix}format": fmt}
    if fmt == "json":
        out[f"{prefix}json.timestamp-format.standard"] = "SQL"
    return out


def source_table(
    name: str,
    table: TableDef,
    *,
    topic: str,
    bootstrap: str,
    bounded: Mapping[int, int] | None = None,
    extra: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
) -> str:
    """CREATE TABLE for a spec table read from (or written to) Kafka; the spec's options win."""
    opts: dict[str, str] = {"topic": topic, **kafka_options(bootstrap, properties)}
    fmt = table.format.value
    if table.updating:
        key_cols = table.primary_key
        opts = {"connector": "upsert-kafka", **opts}
        opts.update(_format_options(fmt, "key."))
        opts.update(_format_options(fmt, "value."))
        opts["value.fields-include"] = "ALL"
    else:
        key_cols = []
        opts = {"connector": "kafka", **opts, "scan.startup.mode": "earliest-offset"}
        if table.key:
            opts.update(_format_options(fmt, "key."))
            opts["key.fields"] = ";".join(table.key)
            opts.update(_format_options(fmt, "value."))
            opts["value.fields-include"] = "ALL"
        else:
            opts.update(_format_options(fmt))
    if bounded is not None:
        opts.update(bounded_offsets(bounded))
    opts.update(extra or {})
    opts.update(table.options)
    cols = list(table.schema_.items())
    return f"CREATE TABLE {quote(name)} (\n  {_columns(cols, table.watermark, key_cols)}\n) WITH (\n  {_opts(opts)}\n)"


def sink_table(
    name: str,
    columns: Sequence[tuple[str, str]],
    *,
    topic: str,
    bootstrap: str,
    mode: SinkMode,
    primary_key: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
) -> str:
    """CREATE TABLE for a CTAS target, with the connector its changelog needs."""
    opts: dict[str, str] = {"topic": topic, **kafka_options(bootstrap, properties)}
    pk: Sequence[str] = ()
    if mode is SinkMode.UPSERT:
        pk = primary_key
        opts = {
            "connector": "upsert-kafka",
            **opts,
            **_format_options("json", "key."),
            **_format_options("json", "value."),
            "value.fields-include": "ALL",
        }
    elif mode is SinkMode.RETRACT:
        opts = {
            "connector": "kafka",
            **opts,
            "format": "debezium-json",
            "debezium-json.timestamp-format.standard": "SQL",
        }
    else:
        opts = {"connector": "kafka", **opts, **_format_options("json")}
    opts.update(extra or {})
    return f"CREATE TABLE {quote(name)} (\n  {_columns(columns, None, pk)}\n) WITH (\n  {_opts(opts)}\n)"


def envelope_sink_table(
    name: str,
    *,
    topic: str,
    bootstrap: str,
    key: str | None,
    value: str,
    upsert: bool,
    extra: Mapping[str, str] | None = None,
) -> str:
    """CREATE TABLE for an output written as ready-made record text (Kafka Connect envelopes).

    ``value`` (and ``key``) are STRING columns whose text is the record as is (``raw``
    format); ``upsert``: ``upsert-kafka`` keyed by ``key``, so a deleted row is a tombstone.
    """
    cols = ([(key, "STRING NOT NULL")] if key else []) + [(value, "STRING")]
    opts: dict[str, str] = {
        "connector": "upsert-kafka" if upsert else "kafka",
        "topic": topic,
        "properties.bootstrap.servers": bootstrap,
    }
    if key:
        opts |= {"key.format": "raw", "value.format": "raw", "value.fields-include": "EXCEPT_KEY"}
        if not upsert:
            opts["key.fields"] = key
    else:
        opts["format"] = "raw"
    opts.update(extra or {})
    pk = [key] if upsert and key else []
    return (
        f"CREATE TABLE {quote(name)} (\n  {_columns(cols, None, pk)}\n) WITH (\n  {_opts(opts)}\n)"
    )


_CHANGELOG = re.compile(r"changelogMode=\[(?P<mode>[A-Z,]+)\]")


def changelog_mode(explain: str) -> list[str]:
    """The root operator's changelog mode from ``EXPLAIN CHANGELOG_MODE`` (e.g. ``['I', 'UA']``)."""
    physical = explain.split("== Optimized Physical Plan ==", 1)[-1]
    m = _CHANGELOG.search(physical)
    return m["mode"].split(",") if m else ["I"]

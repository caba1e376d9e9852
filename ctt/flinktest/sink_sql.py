"""The Flink side of a ``sink:``: the output the connector reads, written as Connect envelopes.

With ``schemas: true`` the sinked output (a CTAS target) is declared as one STRING value
column (and a STRING key for upserts) in ``raw`` format, and the job's INSERT selects the
envelope text :mod:`ctt.sink.envelope` builds from the query's columns. ctt's own reader
unwraps the payload again (``outputs.decode(envelope=True)``), so every check of the
output still sees the rows. Without schemas the output stays plain JSON.
"""

from __future__ import annotations

from collections.abc import Mapping

from ctt.config.sink import SinkConfig, SinkMode
from ctt.config.spec import FlinkTest
from ctt.errors import ConfigError
from ctt.observed.model import Column
from ctt.sink import envelope
from ctt.sql import ddl
from ctt.sql.statements import Statement


def sinked(test: FlinkTest, target: str) -> SinkConfig | None:
    """The test's sink when it reads ``target`` with schemas (the runner resolved ``output``)."""
    sink = test.sink
    if sink is None or not sink.schemas or sink.output != target:
        return None
    return sink


def updating_mode(test: FlinkTest, file: str, line: int | None) -> ddl.SinkMode:
    """An updating query into the sink: upsert by the sink's key, or a spec error."""
    sink = test.sink
    assert sink is not None
    if sink.mode is SinkMode.UPSERT:
        return ddl.SinkMode.UPSERT
    raise ConfigError(
        f"sink: mode insert appends every record, but the query writing {sink.output!r} "
        "updates and retracts rows",
        file=file,
        line=line,
        hint="use `mode: upsert` with `primary_key:` (and `delete_on_tombstone: true` for "
        "retractions)",
    )


def envelope_table(
    test: FlinkTest,
    name: str,
    *,
    topic: str,
    bootstrap: str,
    mode: ddl.SinkMode,
    extra: Mapping[str, str] | None = None,
) -> str:
    sink = test.sink
    assert sink is not None
    keyed = sink.mode is SinkMode.UPSERT
    return ddl.envelope_sink_table(
        name,
        topic=topic,
        bootstrap=bootstrap,
        key=envelope.KEY_COLUMN if keyed else None,
        value=envelope.VALUE_COLUMN,
        upsert=mode is ddl.SinkMode.UPSERT,
        extra=extra,
    )


def envelope_select(test: FlinkTest, columns: list[Column], name: str) -> str:
    """The select list of the job's INSERT into the envelope table: key (upsert) and value."""
    sink = test.sink
    assert sink is not None
    value = envelope.envelope_sql(columns, sink.nested, name=f"{name}.Value")
    if sink.mode is not SinkMode.UPSERT:
        return f"{value} AS {ddl.quote(envelope.VALUE_COLUMN)}"
    by_name = {c.name: c for c in columns}
    key_cols = [
        Column(name=c, type=ddl.clean_type(by_name[c].type).replace(" NOT NULL", "") + " NOT NULL")
        for c in sink.primary_key
    ]
    key = envelope.envelope_sql(key_cols, sink.nested, name=f"{name}.Key")
    return (
        f"{key} AS {ddl.quote(envelope.KEY_COLUMN)}, {value} AS {ddl.quote(envelope.VALUE_COLUMN)}"
    )


def check_columns(test: FlinkTest, columns: list[Column], stmt: Statement, file: str) -> None:
    """The sink's key columns are in the query's output, and each type fits the envelope."""
    sink = test.sink
    assert sink is not None
    names = {c.name for c in columns}
    for col in sink.primary_key:
        if col not in names:
            raise ConfigError(
                f"sink: primary_key column {col!r} is not in {sink.output!r} "
                f"(columns: {', '.join(c.name for c in columns)})",
                file=file,
            )
    try:
        for c in columns:
            envelope.field_schema(c, sink.nested)
    except envelope.UnsupportedType as exc:
        raise ConfigError(f"sink: {exc}", file=file) from None


__all__ = ["check_columns", "envelope_select", "envelope_table", "sinked", "updating_mode"]

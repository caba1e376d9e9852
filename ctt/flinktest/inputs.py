"""A test's input as records ready to produce: explicit rows and generated streams alike.

Both become :class:`ctt.kafka.record.GeneratedRecord`, so one producer
(``ctt.kafka.produce``) sends them and one ground-truth model describes them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ctt.config.datagen import Column as ShapeColumn
from ctt.config.datagen import TableShape
from ctt.config.spec import FlinkTest, TableDef
from ctt.datagen.generate import generate
from ctt.datagen.partition import partition_for
from ctt.kafka.record import GeneratedRecord, json_scalar
from ctt.observed.model import base_type


def shape_of(name: str, table: TableDef) -> TableShape:
    return TableShape(
        name=name,
        columns=[ShapeColumn(name=c, type=t) for c, t in table.schema_.items()],
        key_columns=table.key_columns(),
        event_time=table.watermark.column if table.watermark else None,
        watermark_delay_s=table.watermark.delay if table.watermark else 0.0,
        partitions=table.partitions,
    )


def _json_value(value: Any, flink_type: str) -> Any:
    out = json_scalar(value)
    if isinstance(value, datetime) and base_type(flink_type) == "TIMESTAMP_LTZ":
        return out + "Z"
    return out


def _event_ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1000)
    if isinstance(value, str):
        text = value.rstrip("Z").replace("T", " ")
        for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
            try:
                return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp() * 1000)
            except ValueError:
                continue
    if isinstance(value, (int, float)):
        return int(value)
    return None


class TableInput(BaseModel):
    """Records for one source table, in production order."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    table: str
    records: list[GeneratedRecord] = Field(default_factory=list)
    watermark_delay_ms: int | None = None
    generated: bool = Field(False, description="some records come from a generator")

    def offsets(self, partitions: int, *, include_closing: bool) -> dict[int, int]:
        counts = dict.fromkeys(range(partitions), 0)
        for rec in self.records:
            if include_closing or not rec.closing:
                counts[rec.partition] += 1
        return counts


def explicit(
    name: str,
    table: TableDef,
    rows: list[dict[str, Any]],
    deletes: list[dict[str, Any]],
    start_index: int = 0,
) -> TableInput:
    """Explicit rows: JSON values, key from ``key``/``primary_key``, lateness computed as the generator does."""
    key_cols = table.key_columns()
    wm_col = table.watermark.column if table.watermark else None
    delay_ms = round(table.watermark.delay * 1000) if table.watermark else None
    max_seen: dict[int, int] = {}
    records: list[GeneratedRecord] = []
    items: list[tuple[dict[str, Any], bool]] = [(r, False) for r in rows] + [
        (d, True) for d in deletes
    ]
    for i, (row, is_delete) in enumerate(items):
        unknown = set(row) - set(table.schema_)
        if unknown:
            raise ValueError(
                f"row {i + 1} of {name} has columns not in the schema: {', '.join(sorted(unknown))}"
            )
        fields = {c: _json_value(row.get(c), t) for c, t in table.schema_.items()}
        key = (
            json.dumps({c: fields[c] for c in key_cols}, separators=(",", ":")).encode()
            if key_cols
            else None
        )
        if table.partitions == 1:
            partition = 0
        elif key is not None:
            partition = partition_for(key, table.partitions)
        else:
            partition = i % table.partitions
        ts = _event_ms(row.get(wm_col)) if wm_col else None
        watermark = None
        late = False
        if ts is not None and delay_ms is not None:
            seen = max_seen.get(partition)
            watermark = None if seen is None else seen - delay_ms - 1
            late = watermark is not None and ts <= watermark
            max_seen[partition] = ts if seen is None else max(seen, ts)
        value = (
            b"" if is_delete else json.dumps(fields, separators=(",", ":"), default=str).encode()
        )
        records.append(
            GeneratedRecord(
                index=start_index + i,
                key=key,
                value=value,
                fields=None if is_delete else fields,
                event_time_ms=ts if ts is not None else 0,
                partition=partition,
                watermark_ms=watermark,
                late=late,
            )
        )
    return TableInput(table=name, records=records, watermark_delay_ms=delay_ms)


def build(test: FlinkTest, sources: set[str]) -> dict[str, TableInput]:
    """Every source table's records: explicit rows and generated streams."""
    out: dict[str, TableInput] = {}
    for name, data in test.explicit_data().items():
        out[name] = explicit(name, test.tables[name], data.rows, data.deletes)
    generated = test.generated_data()
    references: dict[str, list[dict[str, Any]]] = {}
    for name, cfg in generated.items():
        if name not in sources:
            continue
        table = test.tables[name]
        recs = list(generate(shape_of(name, table), cfg, references=references))
        references[name] = [r.fields for r in recs if r.fields is not None and not r.closing]
        prev = out.get(name)
        delay = round(table.watermark.delay * 1000) if table.watermark else None
        out[name] = TableInput(
            table=name,
            records=(prev.records if prev else []) + recs,
            watermark_delay_ms=delay,
            generated=True,
        )
    return out

"""What the unit knows about a table's watermark: the spec's ``watermark:`` or the SQL's ``WATERMARK FOR``."""

from __future__ import annotations

from dataclasses import dataclass

from ctt.lint.rules._sql import declared_tables
from ctt.lint.units import LintUnit

ROWTIME = "$rowtime"  # Confluent Cloud's system column, with SOURCE_WATERMARK() by default


@dataclass(frozen=True)
class KnownTable:
    watermark_column: str | None
    default_strategy: bool  # SOURCE_WATERMARK(): Confluent Cloud's per-partition default
    partitions: int | None


def known_tables(unit: LintUnit) -> dict[str, KnownTable]:
    out = {
        name: KnownTable(t.watermark.column if t.watermark else None, False, t.partitions)
        for name, t in unit.tables.items()
    }
    for name, d in declared_tables(unit).items():
        default = (d.watermark or "").upper().startswith("SOURCE_WATERMARK")
        out[name] = KnownTable(d.watermark_column, default, None)
    return out

"""Hand-made tests and inputs for the oracle: explicit rows turned into ground truth as the runner does."""

from __future__ import annotations

from typing import Any

import yaml

from ctt.config.spec import FlinkTest
from ctt.flinktest.inputs import explicit
from ctt.observed.model import InputRecord


def make_test(text: str) -> FlinkTest:
    data = yaml.safe_load(text)
    test = FlinkTest.model_validate(data)
    test.name = "t"
    return test


def inputs_for(
    test: FlinkTest, rows: dict[str, list[dict[str, Any]]]
) -> dict[str, list[InputRecord]]:
    """Records in production order with partitions, event times and late marks."""
    out: dict[str, list[InputRecord]] = {}
    for name, table_rows in rows.items():
        table = test.tables[name]
        recs = explicit(name, table, table_rows, []).records
        out[name] = [
            InputRecord(
                table=name,
                row=r.fields,
                event_time_ms=r.event_time_ms,
                watermark_delay_ms=round(table.watermark.delay * 1000) if table.watermark else None,
                late=r.late,
                partition=r.partition,
            )
            for r in recs
        ]
    return out

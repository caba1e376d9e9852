"""The ground truth as DuckDB tables: one per source table, with what the watermark saw.

Schema (documented in docs/oracle.md): the table's own columns, typed from its
Flink schema, plus

- ``_ctt_seq`` BIGINT: production order within the table (0-based);
- ``_ctt_partition`` INTEGER: the Kafka partition;
- ``_ctt_event_time_ms`` BIGINT: event time, epoch milliseconds;
- ``_ctt_late`` BOOLEAN: behind its partition's watermark when produced (generator's mark);
- ``_ctt_watermark_ms`` BIGINT: the watermark Flink's source emitted just before the record
  (minimum over the table's partitions still reading; NULL while some partition has none yet).

Closing events, tombstones and malformed records are not rows (closing events still
move the watermark).
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import orjson

from ctt.config.spec import Completion, FlinkTest
from ctt.observed.model import InputRecord

META = ("_ctt_seq", "_ctt_partition", "_ctt_event_time_ms", "_ctt_late", "_ctt_watermark_ms")
_SIMPLE = {
    "BIGINT": "BIGINT",
    "INT": "INTEGER",
    "INTEGER": "INTEGER",
    "SMALLINT": "SMALLINT",
    "TINYINT": "TINYINT",
    "BOOLEAN": "BOOLEAN",
    "DOUBLE": "DOUBLE",
    "FLOAT": "REAL",
    "REAL": "REAL",
    "DATE": "DATE",
    "STRING": "VARCHAR",
    "VARCHAR": "VARCHAR",
    "CHAR": "VARCHAR",
    "BYTES": "VARCHAR",
}
_PLAIN: dict[str, tuple[type, ...]] = {
    "BIGINT": (int,),
    "INTEGER": (int,),
    "SMALLINT": (int,),
    "TINYINT": (int,),
    "DOUBLE": (float, int),
    "REAL": (float, int),
    "BOOLEAN": (bool,),
}
IDLE_TIMEOUT = "table.exec.source.idle-timeout"


def duck_type(flink_type: str) -> str:
    """DuckDB type for a Flink column type (nested types are kept as JSON text)."""
    text = flink_type.strip().upper()
    base = re.split(r"[\s(<]", text, maxsplit=1)[0]
    if base in ("DECIMAL", "DEC", "NUMERIC"):
        m = re.match(r"\w+\s*\(\s*(\d+)\s*(?:,\s*(\d+))?\s*\)", text)
        p, s = (int(m[1]), int(m[2] or 0)) if m else (10, 0)
        return f"DECIMAL({min(p, 38)}, {s})"
    if base.startswith("TIMESTAMP"):
        return "TIMESTAMP"
    if base in ("ROW", "ARRAY", "MAP", "MULTISET"):
        return "JSON"
    return _SIMPLE.get(base, "VARCHAR")


def arrival_watermarks(
    records: list[InputRecord], partitions: int, *, bounded: bool, idle_ignored: bool
) -> tuple[list[int | None], int | None]:
    """The source's combined watermark just before each record, and after the last one.

    Per partition Flink tracks ``max event time - delay - 1 ms``; the source emits the
    minimum over its partitions. A partition that has not delivered a record yet holds
    it at minus infinity (None), unless an idle timeout is configured and it never
    delivers anything. In bounded mode a partition stops counting once all of its
    records were read (its split finishes).
    """
    remaining = dict.fromkeys(range(partitions), 0)
    for r in records:
        remaining[r.partition] = remaining.get(r.partition, 0) + 1
    active = {p for p, n in remaining.items() if n > 0 or not (bounded or idle_ignored)}
    top: dict[int, int] = {}
    out: list[int | None] = []
    # The minimum over active partitions changes only when a partition's maximum moves
    # or a partition stops counting: recompute it then, not per record.
    low: int | None = None
    dirty = True
    delay = 0
    for r in records:
        if r.watermark_delay_ms is None:
            out.append(None)
        else:
            delay = r.watermark_delay_ms
            if dirty and len(active) == 1:
                low = top.get(next(iter(active)))
                dirty = False
            elif dirty:
                marks = [top.get(p) for p in active]
                low = None if not marks or None in marks else min(m for m in marks if m is not None)
                dirty = False
            out.append(None if low is None else low - delay - 1)
        p = r.partition
        if r.event_time_ms is not None and r.malformed is None:
            seen = top.get(p)
            if seen is None or r.event_time_ms > seen:
                top[p] = r.event_time_ms
                dirty = dirty or seen is None or low is None or seen <= low
        remaining[p] -= 1
        if bounded and remaining[p] == 0:
            active.discard(p)
            dirty = True
    if bounded:
        return out, None
    marks = [top.get(p) for p in active]
    final = (
        None if not marks or None in marks else min(m for m in marks if m is not None) - delay - 1
    )
    return out, final


class GroundTruth:
    """A DuckDB connection holding every source table's ground truth."""

    def __init__(
        self,
        test: FlinkTest,
        inputs: dict[str, list[InputRecord]],
        outputs: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        self.con = duckdb.connect()
        self.test = test
        self.bounded = test.completion is Completion.BOUNDED
        settings = {k.lower(): v for k, v in test.settings.items()}
        self.idle_ignored = bool(settings.get(IDLE_TIMEOUT, "").strip() not in ("", "0", "0 ms"))
        self.final_watermark: dict[str, int | None] = {}
        self.late_sent: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        for name, table in test.tables.items():
            if name in inputs or name not in outputs:
                self._load(name, table.schema_, inputs.get(name, []), table.partitions)

    def _load(
        self, name: str, schema: dict[str, str], records: list[InputRecord], partitions: int
    ) -> None:
        """Column lists handed to DuckDB in one statement (no per-row round trips)."""
        marks, final = arrival_watermarks(
            records, partitions, bounded=self.bounded, idle_ignored=self.idle_ignored
        )
        self.final_watermark[name] = final
        keep = [
            i
            for i, r in enumerate(records)
            if r.row is not None and not r.closing and r.malformed is None
        ]
        rows = [records[i].row or {} for i in keep]
        params: list[list[Any]] = []
        select = []
        for c, t in schema.items():
            kind = duck_type(t)
            values = [r.get(c) for r in rows]
            q = quote(c)
            arg = f"unnest(${len(params) + 1}::VARCHAR[])"
            if kind == "TIMESTAMP":
                select.append(f"CAST(rtrim(replace({arg}, 'T', ' '), 'Z') AS TIMESTAMP) AS {q}")
                values = [None if v is None else str(v) for v in values]
            elif kind == "JSON":
                select.append(f"CAST({arg} AS JSON) AS {q}")
                values = [None if v is None else orjson.dumps(v).decode() for v in values]
            elif kind == "VARCHAR":
                select.append(f"{arg} AS {q}")
                if any(v is not None and not isinstance(v, str) for v in values):
                    values = [None if v is None else str(v) for v in values]
            else:
                typed = all(v is None or type(v) in _PLAIN.get(kind, ()) for v in values)
                if typed:
                    arg = f"unnest(${len(params) + 1}::{kind}[])"
                    select.append(f"{arg} AS {q}")
                else:  # mixed or odd values: DuckDB parses their text
                    select.append(f"TRY_CAST({arg} AS {kind}) AS {q}")
                    values = [None if v is None else str(v) for v in values]
            params.append(values)
        meta: list[tuple[str, str, list[Any]]] = [
            ("_ctt_seq", "BIGINT", list(range(len(keep)))),
            ("_ctt_partition", "INTEGER", [records[i].partition for i in keep]),
            ("_ctt_event_time_ms", "BIGINT", [records[i].event_time_ms for i in keep]),
            ("_ctt_late", "BOOLEAN", [records[i].late for i in keep]),
            ("_ctt_watermark_ms", "BIGINT", [marks[i] for i in keep]),
        ]
        for col, kind, values in meta:
            params.append(values)
            select.append(f"unnest(${len(params)}::{kind}[]) AS {col}")
        self.con.execute(f"CREATE TABLE {quote(name)} AS SELECT {', '.join(select)}", params)
        self.late_sent[name] = sum(1 for r in records if r.late and not r.closing)
        self.rows[name] = len(keep)

    def count(self, name: str) -> int:
        row = self.con.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.con.close()


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

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

import os
import re
import tempfile
from collections.abc import Iterable

import duckdb
import orjson

from ctt.config.spec import Completion, FlinkTest
from ctt.validate.base import InputRecord

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

    def combined(delay: int) -> int | None:
        if not active:
            return None
        marks = [top.get(p) for p in active]
        if any(m is None for m in marks):
            return None
        return min(m for m in marks if m is not None) - delay - 1

    delay = 0
    for r in records:
        delay = r.watermark_delay_ms or 0
        out.append(combined(delay) if r.watermark_delay_ms is not None else None)
        if r.event_time_ms is not None and r.malformed is None:
            p = r.partition
            top[p] = max(top.get(p, r.event_time_ms), r.event_time_ms)
        remaining[r.partition] -= 1
        if bounded and remaining[r.partition] == 0:
            active.discard(r.partition)
    final = None if bounded else combined(delay)
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
        marks, final = arrival_watermarks(
            records, partitions, bounded=self.bounded, idle_ignored=self.idle_ignored
        )
        self.final_watermark[name] = final
        cols = list(schema)
        read_types = {
            c: ("VARCHAR" if duck_type(t) in ("TIMESTAMP", "JSON") else duck_type(t))
            for c, t in schema.items()
        }
        read_types.update(
            _ctt_seq="BIGINT",
            _ctt_partition="INTEGER",
            _ctt_event_time_ms="BIGINT",
            _ctt_late="BOOLEAN",
            _ctt_watermark_ms="BIGINT",
        )
        fd, path = tempfile.mkstemp(prefix="ctt-oracle-", suffix=".jsonl")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.writelines(self._lines(records, marks, cols))
            select = []
            for c, t in schema.items():
                q = quote(c)
                kind = duck_type(t)
                if kind == "TIMESTAMP":
                    select.append(f"CAST(rtrim(replace({q}, 'T', ' '), 'Z') AS TIMESTAMP) AS {q}")
                elif kind == "JSON":
                    select.append(f"CAST({q} AS JSON) AS {q}")
                else:
                    select.append(q)
            select += list(META)
            columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in read_types.items()) + "}"
            self.con.execute(
                f"CREATE TABLE {quote(name)} AS SELECT {', '.join(select)} FROM read_json("
                f"'{path}', format='newline_delimited', columns={columns})"
            )
        finally:
            os.unlink(path)
        self.late_sent[name] = sum(1 for r in records if r.late and not r.closing)
        self.rows[name] = self.count(name)

    @staticmethod
    def _lines(
        records: list[InputRecord], marks: list[int | None], cols: list[str]
    ) -> Iterable[bytes]:
        seq = 0
        for rec, mark in zip(records, marks, strict=True):
            if rec.row is None or rec.closing or rec.malformed is not None:
                continue
            row = {c: rec.row.get(c) for c in cols}
            for c, v in row.items():
                if isinstance(v, (dict, list)):
                    row[c] = orjson.dumps(v).decode()
            row.update(
                _ctt_seq=seq,
                _ctt_partition=rec.partition,
                _ctt_event_time_ms=rec.event_time_ms,
                _ctt_late=rec.late,
                _ctt_watermark_ms=mark,
            )
            seq += 1
            yield orjson.dumps(row, default=str) + b"\n"

    def count(self, name: str) -> int:
        row = self.con.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.con.close()


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

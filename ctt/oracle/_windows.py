"""Window assignment under the watermark: which (event, window) pairs Flink keeps.

Rule (Flink's window operators, legacy and TVF alike): an event joins a window
unless that window had already fired when the event arrived, i.e. unless
``window_end - 1 + allowed_lateness <= W`` where ``W`` is the source's combined
watermark just before the event (``_ctt_watermark_ms``). An event kept by no
window is dropped and counted in Flink's ``numLateRecordsDropped``. Session
windows are simulated event by event (merging, firing) in Python; the others
are expanded in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ctt.oracle._truth import GroundTruth, quote

_NEG = -(2**62)


class WindowKind(StrEnum):
    TUMBLE = "tumble"
    HOP = "hop"
    CUMULATE = "cumulate"
    SESSION = "session"


@dataclass
class WindowSpec:
    """One window assigner found in the query, over one source table."""

    kind: WindowKind
    source: str
    time_col: str
    size_ms: int = 0
    slide_ms: int = 0  # hop
    step_ms: int = 0  # cumulate
    gap_ms: int = 0  # session
    offset_ms: int = 0
    partition_by: list[str] = field(default_factory=list)  # session keys
    alias: str | None = None
    where: str | None = None  # the filter applied before the window operator (DuckDB SQL)
    group_keys: list[str] = field(default_factory=list)  # GROUP BY items other than the window
    two_phase: bool = False  # local/global window aggregate (TVF tumble, hop, cumulate)

    @property
    def slice_ms(self) -> int:
        """The unit a two-phase window aggregate pre-aggregates by (and flushes at)."""
        return {
            WindowKind.TUMBLE: self.size_ms,
            WindowKind.HOP: self.slide_ms,
            WindowKind.CUMULATE: self.step_ms,
        }.get(self.kind, self.size_ms)

    def describe(self) -> str:
        what = {
            WindowKind.TUMBLE: f"size {self.size_ms} ms",
            WindowKind.HOP: f"slide {self.slide_ms} ms, size {self.size_ms} ms",
            WindowKind.CUMULATE: f"step {self.step_ms} ms, size {self.size_ms} ms",
            WindowKind.SESSION: f"gap {self.gap_ms} ms",
        }[self.kind]
        return f"{self.kind.value} window over {self.source}.{self.time_col} ({what})"


@dataclass
class WindowResult:
    table: str
    reached: int  # events that reached the window operator (after the filter)
    dropped: int  # of those, kept by no window


def _floor(expr: str, unit: int, offset: int) -> str:
    """Start of the ``unit``-aligned period containing ``expr`` (floor, also below zero)."""
    x = f"({expr} - {offset})"
    return f"({x} - ((({x} % {unit}) + {unit}) % {unit}) + {offset})"


def materialize(
    gt: GroundTruth, spec: WindowSpec, name: str, *, lateness_ms: int = 0
) -> WindowResult:
    """Create table ``name``: the source's columns plus window_start, window_end, window_time."""
    src = quote(spec.source)
    alias = quote(spec.alias or spec.source)
    where = f"WHERE {spec.where}" if spec.where else ""
    reached_sql = f"SELECT {alias}._ctt_seq FROM {src} AS {alias} {where}"
    try:
        seqs = [r[0] for r in gt.con.execute(reached_sql).fetchall()]
        filtered = True
    except Exception:  # the filter needs window columns: every event reaches the operator
        seqs = [r[0] for r in gt.con.execute(f"SELECT _ctt_seq FROM {src}").fetchall()]
        filtered = False
    final = gt.final_watermark.get(spec.source)
    fired = "TRUE" if gt.bounded else (f"_we - 1 <= {final}" if final is not None else "FALSE")
    if spec.kind is WindowKind.SESSION:
        assign = _sessions(gt, spec, filtered, lateness_ms)
        gt.con.execute(
            f"CREATE TEMP TABLE {quote(name + '_assign')} AS SELECT unnest($1::BIGINT[]) AS "
            "_ctt_seq, unnest($2::BIGINT[]) AS _ws, unnest($3::BIGINT[]) AS _we, "
            "unnest($4::BOOLEAN[]) AS _ok",
            list(assign),
        )
        pairs = f"SELECT s.*, a._ws, a._we, a._ok FROM {src} s JOIN {quote(name + '_assign')} a USING (_ctt_seq)"
    else:
        t = f"epoch_ms({quote(spec.time_col)})"
        if spec.kind is WindowKind.TUMBLE:
            ws = _floor(t, spec.size_ms, spec.offset_ms)
            inner = f"SELECT s.*, {ws} AS _ws, {ws} + {spec.size_ms} AS _we FROM {src} s"
        elif spec.kind is WindowKind.HOP:
            n = -(-spec.size_ms // spec.slide_ms)
            last = _floor(t, spec.slide_ms, spec.offset_ms)
            inner = (
                f"SELECT s.*, {last} - _ctt_k * {spec.slide_ms} AS _ws, "
                f"{last} - _ctt_k * {spec.slide_ms} + {spec.size_ms} AS _we "
                f"FROM {src} s CROSS JOIN range(0, {n}) r(_ctt_k)"
            )
        else:
            n = spec.size_ms // spec.step_ms
            ws = _floor(t, spec.size_ms, spec.offset_ms)
            inner = (
                f"SELECT s.*, {ws} AS _ws, {ws} + _ctt_k * {spec.step_ms} AS _we "
                f"FROM {src} s CROSS JOIN range(1, {n + 1}) r(_ctt_k)"
            )
        ok = f"_we - 1 + {lateness_ms} > coalesce(_ctt_watermark_ms, {_NEG})"
        pairs = f"SELECT *, {ok} AS _ok FROM ({inner}) WHERE {t} >= _ws AND {t} < _we"
    gt.con.execute(f"CREATE TEMP TABLE {quote(name + '_pairs')} AS {pairs}")
    gt.con.execute(
        f"CREATE TEMP TABLE {quote(name)} AS SELECT * EXCLUDE (_ws, _we, _ok), "
        "epoch_ms(_ws) AS window_start, epoch_ms(_we) AS window_end, "
        f"epoch_ms(_we - 1) AS window_time FROM {quote(name + '_pairs')} WHERE _ok AND {fired}"
    )
    gt.con.execute("CREATE TEMP TABLE _ctt_reached AS SELECT unnest($1) AS _ctt_seq", [seqs])
    dropped_seqs = (
        "SELECT r._ctt_seq FROM _ctt_reached r WHERE NOT EXISTS (SELECT 1 FROM "
        f"{quote(name + '_pairs')} p WHERE p._ctt_seq = r._ctt_seq AND p._ok)"
    )
    row = gt.con.execute(f"SELECT count(*) FROM ({dropped_seqs})").fetchone()
    dropped = int(row[0]) if row else 0
    if spec.two_phase and dropped:
        dropped = _accumulators(gt, spec, dropped_seqs)
    gt.con.execute("DROP TABLE _ctt_reached")
    return WindowResult(table=name, reached=len(seqs), dropped=dropped)


def _accumulators(gt: GroundTruth, spec: WindowSpec, dropped_seqs: str) -> int:
    """Late drops as Flink's two-phase window aggregate counts them: per accumulator.

    The local operator pre-aggregates rows by (group key, slice) until the watermark
    crosses a slice boundary, then flushes; the global operator drops a whole late
    accumulator and counts it once.
    """
    t = f"epoch_ms({quote(spec.time_col)})"
    unit = spec.slice_ms
    epoch = f"floor((_ctt_watermark_ms + 1 - {spec.offset_ms}) / {unit})"
    keys = [*spec.group_keys, _floor(t, unit, spec.offset_ms), epoch]
    alias = quote(spec.alias or spec.source)
    row = gt.con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(keys)} FROM {quote(spec.source)} "
        f"AS {alias} WHERE _ctt_seq IN ({dropped_seqs}))"
    ).fetchone()
    return int(row[0]) if row else 0


def _sessions(
    gt: GroundTruth, spec: WindowSpec, filtered: bool, lateness_ms: int
) -> tuple[list[int], list[int], list[int], list[bool]]:
    """(seq, start, end, kept) columns: Flink's merging session assigner, event by event.

    Windows ``[t, t + gap)`` merge when they touch (``start <= other.end``); a
    session fires once ``end - 1 + lateness <= W`` and an event that can only
    form a window that has fired already is dropped. Events are walked per key in
    arrival order; merged sessions are tracked with union-find, so merging is O(1).
    """
    keys = ", ".join(quote(c) for c in spec.partition_by)
    key = (f"[{keys}]" if len(spec.partition_by) > 1 else keys) if keys else "NULL"
    alias = quote(spec.alias or spec.source)
    where = f"WHERE {spec.where}" if spec.where and filtered else ""
    rows = gt.con.execute(
        f"SELECT _ctt_seq, epoch_ms({quote(spec.time_col)}), "
        f"coalesce(_ctt_watermark_ms, {_NEG}), {key} AS _k "
        f"FROM {quote(spec.source)} AS {alias} {where} ORDER BY _k, _ctt_seq"
    ).fetchall()
    gap = spec.gap_ms
    starts: list[int] = []
    ends: list[int] = []
    parent: list[int] = []
    member: list[int] = []  # session id per kept row, aligned with seqs_out
    seqs_out: list[int] = []
    dropped: list[int] = []
    open_: list[int] = []
    current: Any = object()
    for seq, t, w, k in rows:
        if k != current:
            current, open_ = k, []
        if open_:
            open_ = [s for s in open_ if ends[s] - 1 + lateness_ms > w]
        start, end = t, t + gap
        merged = []
        rest = []
        for s in open_:
            if starts[s] <= end and ends[s] >= start:
                start, end = min(start, starts[s]), max(end, ends[s])
                merged.append(s)
            else:
                rest.append(s)
        if end - 1 + lateness_ms <= w:
            dropped.append(seq)
            continue
        sid = len(starts)
        starts.append(start)
        ends.append(end)
        parent.append(sid)
        for s in merged:
            parent[s] = sid
        rest.append(sid)
        open_ = rest
        seqs_out.append(seq)
        member.append(sid)

    def root(s: int) -> int:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    roots = [root(s) for s in member]
    return (
        seqs_out + dropped,
        [starts[r] for r in roots] + [0] * len(dropped),
        [ends[r] for r in roots] + [0] * len(dropped),
        [True] * len(roots) + [False] * len(dropped),
    )

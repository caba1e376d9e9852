"""Flink SQL -> DuckDB SQL over the ground truth, with the streaming parts made explicit.

What is rewritten (everything else is handed to DuckDB unchanged):

- window TVFs ``TABLE(TUMBLE|HOP|CUMULATE|SESSION(TABLE t, DESCRIPTOR(ts), ...))``
  become a table of (event, window) pairs that survived the watermark;
- legacy group windows ``GROUP BY ..., TUMBLE|HOP|SESSION(ts, ...)`` the same, after
  :mod:`ctt.sql.group_windows` has rewritten them to window TVFs (the one rewrite the
  Confluent dialect uses too); they stay one-phase, as Flink's legacy operator is;
- event-time temporal joins ``JOIN v FOR SYSTEM_TIME AS OF e.ts AS u ON ...`` become
  DuckDB ``ASOF [LEFT] JOIN`` on the versioned table's time attribute;
- ``ROW_NUMBER() OVER (... ORDER BY x)`` gets production order as a tie-break, as
  Flink's dedup and top-N operators keep the earlier (or, for "last row", the later) row;
- backtick identifiers, ``JSON_VALUE``, ``PROCTIME()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ctt.config.spec import FlinkTest
from ctt.oracle._scan import (
    SqlShapeError,
    clauses,
    close_paren,
    find_call,
    ident,
    interval_ms,
    mask,
    scope_of,
    split_top,
)
from ctt.oracle._windows import WindowKind, WindowSpec
from ctt.sql.group_windows import GroupWindowError, rewrite_group_windows

_TVF = re.compile(r"\bTABLE\s*\(\s*(TUMBLE|HOP|CUMULATE|SESSION)\s*\(", re.I)
_TEMPORAL = re.compile(
    r"\b(?P<left>LEFT\s+(?:OUTER\s+)?)?JOIN\s+(?P<table>[\w`_.]+)\s+FOR\s+SYSTEM_TIME\s+AS\s+OF\s+"
    r"(?P<expr>[\w`_.]+)\s+(?:AS\s+)?(?P<alias>[\w`_]+)\s+ON\s",
    re.I,
)
_RANKING = ("ROW_NUMBER", "RANK", "DENSE_RANK")
_WINDOW_COLUMNS = {"window_start", "window_end", "window_time"}
AGG_PHASE = "table.optimizer.agg-phase-strategy"
_KEYWORDS = {
    "WHERE",
    "GROUP",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "FULL",
    "CROSS",
    "ON",
    "ORDER",
    "HAVING",
    "LIMIT",
    "UNION",
    "WINDOW",
}
_UNSUPPORTED = {
    "MATCH_RECOGNIZE": "MATCH_RECOGNIZE",
    "LATERAL": "LATERAL table functions",
    "CURRENT_WATERMARK": "CURRENT_WATERMARK",
}


@dataclass
class Translation:
    sql: str
    windows: list[tuple[str, WindowSpec]] = field(default_factory=list)
    temporal_joins: list[str] = field(default_factory=list)  # versioned tables joined
    interval_join: bool = False


class _Edits:
    """Non-overlapping replacements on the original text, applied back to front."""

    def __init__(self) -> None:
        self.items: list[tuple[int, int, str]] = []

    def add(self, start: int, end: int, text: str) -> None:
        for s, e, _ in self.items:
            if start < e and s < end:
                raise SqlShapeError("overlapping constructs the oracle cannot rewrite")
        self.items.append((start, end, text))

    def apply(self, sql: str) -> str:
        for s, e, t in sorted(self.items, reverse=True):
            sql = sql[:s] + t + sql[e:]
        return sql


class Translator:
    """Translates the queries of one test; window tables are numbered across queries."""

    def __init__(self, test: FlinkTest, settings: dict[str, str] | None = None) -> None:
        self.test = test
        self.count = 0
        self.rowtime_dedup = False
        phase = (settings or {}).get(AGG_PHASE, "AUTO").strip().upper()
        self.two_phase = phase != "ONE_PHASE"

    def _table(self, text: str) -> str:
        name = ident(text)
        if name not in self.test.tables:
            raise SqlShapeError(
                f"the window's input {name!r} is not a source table (windows over views or "
                "subqueries are not modelled)"
            )
        return name

    def translate(self, sql: str) -> Translation:
        try:
            rewrite = rewrite_group_windows(sql)
        except GroupWindowError as exc:
            raise SqlShapeError(str(exc)) from None
        sql = rewrite.sql
        legacy = {w.offset for w in rewrite.windows}  # where the rewritten TVFs start
        m = mask(sql)
        for word, what in _UNSUPPORTED.items():
            if re.search(rf"\b{word}\b", m, re.I):
                raise SqlShapeError(f"{what} is not modelled")
        self._check_over(m)
        out = Translation(sql="")
        edits = _Edits()
        self._tvfs(sql, m, edits, out, legacy)
        self._temporal(sql, m, edits, out)
        self._ranking(sql, m, edits)
        self._functions(sql, m, edits)
        text = edits.apply(sql)
        out.sql = _backticks(text)
        out.interval_join = bool(
            re.search(r"\bJOIN\b", m, re.I) and not out.temporal_joins and self._time_condition(m)
        )
        return out

    # -- checks --------------------------------------------------------------------------------
    def _check_over(self, m: str) -> None:
        for hit in re.finditer(r"\bOVER\s*\(", m, re.I):
            before = m[: hit.start()].rstrip()
            if not before.endswith(")"):
                raise SqlShapeError("OVER windows are not modelled")
            depth = 0
            i = len(before) - 1
            while i >= 0:
                if before[i] == ")":
                    depth += 1
                elif before[i] == "(":
                    depth -= 1
                    if depth == 0:
                        break
                i -= 1
            name = re.search(r"(\w+)\s*$", before[:i])
            if not name or name.group(1).upper() not in _RANKING:
                raise SqlShapeError(
                    f"OVER aggregation {name.group(1) if name else ''}(...) is not modelled "
                    "(only ROW_NUMBER/RANK for deduplication and top-N)"
                )

    def _time_condition(self, m: str) -> bool:
        cols = {t.watermark.column.lower() for t in self.test.tables.values() if t.watermark}
        on = " ".join(re.findall(r"\bON\b(.*?)(?:\bWHERE\b|\bGROUP\b|$)", m, re.I | re.S))
        return any(re.search(rf"\b{re.escape(c)}\b", on, re.I) for c in cols) and bool(
            re.search(r"BETWEEN|[<>]", on)
        )

    # -- windows ------------------------------------------------------------------------------
    def _alias_after(self, sql: str, m: str, pos: int) -> str | None:
        hit = re.match(r"\s*(?:AS\s+)?([\w`\"]+)", m[pos:], re.I)
        if not hit or hit.group(1).upper() in _KEYWORDS:
            return None
        return ident(sql[pos + hit.start(1) : pos + hit.end(1)])

    def _where(self, sql: str, m: str, pos: int) -> str | None:
        scope = scope_of(m, pos)
        span = scope.clauses.get("WHERE")
        return _backticks(sql[span[0] : span[1]].strip()) if span else None

    def _tvfs(self, sql: str, m: str, edits: _Edits, out: Translation, legacy: set[int]) -> None:
        """Window TVFs; those rewritten from legacy group windows keep the legacy semantics."""
        for hit in _TVF.finditer(m):
            from_legacy = hit.start() in legacy
            outer_open = m.index("(", hit.start())
            outer_close = close_paren(m, outer_open)
            inner_open = hit.end() - 1
            inner_close = close_paren(m, inner_open)
            kind = WindowKind(hit.group(1).lower())
            args = [
                (sql[s:e].strip(), m[s:e].strip())
                for s, e in split_top(m, inner_open + 1, inner_close)
            ]
            named: dict[str, str] = {}
            positional: list[str] = []
            for text, masked in args:
                nm = re.match(r"(\w+)\s*=>\s*", masked)
                if nm:
                    named[nm.group(1).upper()] = text[nm.end() :].strip()
                else:
                    positional.append(text)
            order = {
                WindowKind.TUMBLE: ["DATA", "TIMECOL", "SIZE", "OFFSET"],
                WindowKind.HOP: ["DATA", "TIMECOL", "SLIDE", "SIZE", "OFFSET"],
                WindowKind.CUMULATE: ["DATA", "TIMECOL", "STEP", "SIZE", "OFFSET"],
                WindowKind.SESSION: ["DATA", "TIMECOL", "GAP"],
            }[kind]
            for name, text in zip(order, positional, strict=False):
                named.setdefault(name, text)
            data = named.get("DATA", "")
            dm = re.match(r"TABLE\s+([\w`.]+)(?:\s+PARTITION\s+BY\s+(.+))?$", data, re.I | re.S)
            if not dm:
                raise SqlShapeError(f"window input {data!r} must be `TABLE <source table>`")
            tm = re.match(r"DESCRIPTOR\s*\(\s*(.+?)\s*\)$", named.get("TIMECOL", ""), re.I)
            if not tm:
                raise SqlShapeError("window TVF needs DESCRIPTOR(<time column>)")
            partition = dm.group(2)
            if partition:
                partition = partition.strip()
                if partition.startswith("(") and partition.endswith(")"):
                    partition = partition[1:-1]
            spec = WindowSpec(
                kind=kind,
                source=self._table(dm.group(1)),
                time_col=ident(tm.group(1)),
                size_ms=interval_ms(named["SIZE"]) if "SIZE" in named else 0,
                slide_ms=interval_ms(named["SLIDE"]) if "SLIDE" in named else 0,
                step_ms=interval_ms(named["STEP"]) if "STEP" in named else 0,
                gap_ms=interval_ms(named["GAP"]) if "GAP" in named else 0,
                offset_ms=interval_ms(named["OFFSET"]) if "OFFSET" in named else 0,
                partition_by=[ident(p) for p in partition.split(",")] if partition else [],
                alias=self._alias_after(sql, m, outer_close + 1),
                where=self._where(sql, m, hit.start()),
            )
            _check_sizes(spec)
            scope = scope_of(m, hit.start())
            group = scope.clauses.get("GROUP BY")
            if group and kind is not WindowKind.SESSION and self.two_phase and not from_legacy:
                items = [_backticks(sql[s:e].strip()) for s, e in split_top(m, *group)]
                spec.group_keys = [i for i in items if ident(i).lower() not in _WINDOW_COLUMNS]
                spec.two_phase = True
            name = self._next()
            out.windows.append((name, spec))
            # a legacy window's columns may be qualified by the table's name
            alias = f' AS "{spec.source}"' if from_legacy and not spec.alias else ""
            edits.add(hit.start(), outer_close + 1, f'"{name}"{alias}')

    def _next(self) -> str:
        self.count += 1
        return f"_ctt_win_{self.count}"

    # -- joins --------------------------------------------------------------------------------
    def _temporal(self, sql: str, m: str, edits: _Edits, out: Translation) -> None:
        for hit in _TEMPORAL.finditer(m):
            table = ident(sql[hit.start("table") : hit.end("table")])
            tdef = self.test.tables.get(table)
            if tdef is None:
                raise SqlShapeError(f"temporal join on {table!r}, which is not a declared table")
            if tdef.watermark is None:
                raise SqlShapeError(
                    f"temporal join on {table!r} without a watermark: a processing-time "
                    "(lookup) join has no deterministic result"
                )
            expr = _backticks(sql[hit.start("expr") : hit.end("expr")])
            alias = sql[hit.start("alias") : hit.end("alias")]
            left = "LEFT " if hit.group("left") else ""
            q_alias = _backticks(alias)
            edits.add(
                hit.start(),
                hit.end(),
                f'ASOF {left}JOIN "{table}" AS {q_alias} ON {expr} >= '
                f'{q_alias}."{tdef.watermark.column}" AND ',
            )
            out.temporal_joins.append(table)

    # -- ranking ------------------------------------------------------------------------------
    def _ranking(self, sql: str, m: str, edits: _Edits) -> None:
        times = {t.watermark.column.lower() for t in self.test.tables.values() if t.watermark}
        for hit in re.finditer(r"\b(?:ROW_NUMBER|RANK|DENSE_RANK)\s*\(\s*\)\s*OVER\s*\(", m, re.I):
            op = hit.end() - 1
            close = close_paren(m, op)
            scope = scope_of(m, hit.start())
            frm = scope.clauses.get("FROM")
            if frm and re.search(r"\bJOIN\b|,", m[frm[0] : frm[1]], re.I):
                continue  # production order is ambiguous over a join
            om = re.search(r"\bORDER\s+BY\b", m[op:close], re.I)
            if not om:
                continue
            keys = [sql[s:e].strip() for s, e in split_top(m, op + om.end(), close)]
            last = keys[-1]
            dm = re.match(r"(.+?)\s+(ASC|DESC)$", last, re.I | re.S)
            col, direction = (dm.group(1), dm.group(2).upper()) if dm else (last, "ASC")
            # dedup keeps the first row (ASC) or the newest one (DESC, later arrival wins ties);
            # top-N ranks an earlier arrival first among equal sort keys.
            on_time = ident(col).lower() in times and len(keys) == 1
            tie = direction if on_time else "ASC"
            edits.add(close, close, f", _ctt_seq {tie}")
            if on_time and frm:
                # Flink's event-time deduplication drops rows behind the watermark on arrival
                self._drop_late_rows(sql, m, frm, ident(col), edits)
                self.rowtime_dedup = True

    def _drop_late_rows(
        self, sql: str, m: str, frm: tuple[int, int], col: str, edits: _Edits
    ) -> None:
        fm = re.fullmatch(r"\s*([\w`.]+)(?:\s+(?:AS\s+)?([\w`]+))?\s*", m[frm[0] : frm[1]], re.I)
        if not fm:
            raise SqlShapeError("event-time deduplication must read one source table")
        table = self._table(sql[frm[0] + fm.start(1) : frm[0] + fm.end(1)])
        alias = ident(fm.group(2)) if fm.group(2) else table
        start, end = frm[0] + fm.start(), frm[0] + fm.end()
        edits.add(
            start,
            end,
            f' (SELECT * FROM "{table}" WHERE _ctt_watermark_ms IS NULL OR '
            f'epoch_ms("{col}") > _ctt_watermark_ms) AS "{alias}" ',
        )

    def _functions(self, sql: str, m: str, edits: _Edits) -> None:
        for s, op, _c in find_call(m, "JSON_VALUE"):
            edits.add(s, op, "json_extract_string")
        for s, _op, c in find_call(m, "PROCTIME"):
            edits.add(s, c + 1, "CAST(NULL AS TIMESTAMP)")
        for hit in re.finditer(r"\bTIMESTAMP_LTZ\s*(\(\s*\d+\s*\))?", m, re.I):
            edits.add(hit.start(), hit.end(), "TIMESTAMP")


def _check_sizes(spec: WindowSpec) -> None:
    k = spec.kind
    if k in (WindowKind.TUMBLE, WindowKind.HOP, WindowKind.CUMULATE) and spec.size_ms <= 0:
        raise SqlShapeError("window size must be positive")
    if k is WindowKind.HOP and (spec.slide_ms <= 0 or spec.size_ms % spec.slide_ms):
        raise SqlShapeError("HOP size must be a positive multiple of the slide (as Flink requires)")
    if k is WindowKind.CUMULATE and (spec.step_ms <= 0 or spec.size_ms % spec.step_ms):
        raise SqlShapeError("CUMULATE size must be a positive multiple of the step")
    if k is WindowKind.SESSION and spec.gap_ms <= 0:
        raise SqlShapeError("SESSION gap must be positive")


def _backticks(text: str) -> str:
    """`name` -> "name" (outside string literals)."""
    m = mask(text)
    out = list(text)
    for i, c in enumerate(m):
        if c == "`":
            out[i] = '"'
    return "".join(out)


__all__ = ["SqlShapeError", "Translation", "Translator", "clauses"]

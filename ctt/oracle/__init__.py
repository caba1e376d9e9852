"""Expected results computed without Flink, from the ground truth and the watermark strategy.

Public surface: :func:`compute_expected` (used by the runner for outputs that
have no explicit ``expected.rows``) and :class:`OracleResult`. How it works and
what it understands: docs/oracle.md.

The test's Flink SQL is translated to DuckDB SQL over the ground truth
(``ctt.oracle._truth``): windows become tables of the (event, window) pairs the
watermark let through (``ctt.oracle._windows``), temporal joins become ASOF
joins (``ctt.oracle._translate``); DuckDB evaluates everything else, so
expressions, filters and aggregates are not re-implemented here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
from pydantic import BaseModel, Field

from ctt.config.durations import parse_duration
from ctt.config.spec import FlinkTest
from ctt.errors import ConfigError
from ctt.observed.model import Column, InputRecord, base_type
from ctt.oracle._scan import SqlShapeError
from ctt.oracle._translate import Translation, Translator
from ctt.oracle._truth import META, GroundTruth, quote
from ctt.oracle._windows import materialize
from ctt.sql import statements
from ctt.sql.statements import Kind

ALLOW_LATENESS = "table.exec.emit.allow-lateness"
_HINT = "give `expected.{t}.reference_sql` (DuckDB over the ground truth) or explicit `rows`"
_VIEW = re.compile(
    r"^\s*CREATE\s+(?:TEMPORARY\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>[`\w.]+)\s+AS\s+(?P<q>.*)$",
    re.I | re.S,
)
_INTS = ("BIGINT", "INT", "INTEGER", "SMALLINT", "TINYINT")


class OracleResult(BaseModel):
    """Expected rows of one output table, and what the oracle learnt on the way."""

    rows: list[dict[str, Any]]
    expected_late_dropped: int | None = Field(None, description="late events the query must drop")
    late_sent: int = Field(0, description="events marked late in the ground truth")
    allowed_lateness_ms: int = 0
    notes: list[str] = Field(default_factory=list)


def compute_expected(
    test: FlinkTest,
    table: str,
    *,
    sql: str,
    columns: list[Column],
    inputs: dict[str, list[InputRecord]],
) -> OracleResult:
    """Expected rows of ``table`` for these inputs; ConfigError when the query is not understood."""
    stmts = statements.parse(sql)
    outputs = {s.target for s in stmts if s.kind in (Kind.CTAS, Kind.INSERT) and s.target}
    exp = test.expected.get(table)
    reference = exp.reference_sql if exp else None
    gt = GroundTruth(test, inputs, outputs)
    try:
        lateness = allowed_lateness(test, stmts)
        notes: list[str] = []
        dropped: int | None = None
        try:
            query, dropped = _prepare(gt, test, stmts, table, lateness, notes)
        except duckdb.Error as exc:
            if reference is None:
                raise ConfigError(
                    f"the oracle cannot compute {table!r}: DuckDB could not run the translation: "
                    f"{str(exc).splitlines()[0]}",
                    hint=_HINT.format(t=table),
                ) from None
            query = None  # reference_sql decides; the translation of the SQL is not needed
            notes.append("built-in oracle skipped (DuckDB cannot run the SQL); reference_sql used")
        except SqlShapeError as exc:
            if reference is None:
                raise ConfigError(
                    f"the oracle cannot compute {table!r}: {exc}", hint=_HINT.format(t=table)
                ) from None
            query = None
            notes.append(f"built-in oracle skipped ({exc}); late drops not predicted")
        try:
            if reference is not None:
                rel = gt.con.execute(reference)
                notes.append("expected rows from reference_sql")
            else:
                assert query is not None
                rel = gt.con.execute(query)
            names = [d[0] for d in rel.description or []]
            raw = rel.fetchall()
        except duckdb.Error as exc:
            what = "reference_sql failed" if reference else "DuckDB could not run the translation"
            raise ConfigError(
                f"the oracle cannot compute {table!r}: {what}: {str(exc).splitlines()[0]}",
                hint=_HINT.format(t=table) if not reference else None,
            ) from None
        rows = _rows(names, raw, columns, table)
        late = sum(gt.late_sent.values())
        return OracleResult(
            rows=rows,
            expected_late_dropped=dropped,
            late_sent=late,
            allowed_lateness_ms=lateness,
            notes=notes,
        )
    finally:
        gt.close()


def flink_settings(test: FlinkTest, stmts: list[statements.Statement]) -> dict[str, str]:
    """The job's options: the test's ``settings`` overridden by SET statements (lower-case keys)."""
    settings = {k.lower(): v for k, v in test.settings.items()}
    for s in stmts:
        if s.kind is Kind.SET:
            k, v = statements.set_option(s)
            settings[k.lower()] = v
    return settings


def allowed_lateness(test: FlinkTest, stmts: list[statements.Statement]) -> int:
    """``table.exec.emit.allow-lateness`` from the test's settings or a SET statement, in ms."""
    raw = flink_settings(test, stmts).get(ALLOW_LATENESS)
    if not raw:
        return 0
    text = raw.strip().replace(" ", "")
    text = re.sub(r"(?i)(min|mins)$", "m", text)
    try:
        return round(parse_duration(text) * 1000)
    except ValueError:
        raise ConfigError(f"cannot read {ALLOW_LATENESS} = {raw!r}") from None


def _prepare(
    gt: GroundTruth,
    test: FlinkTest,
    stmts: list[statements.Statement],
    table: str,
    lateness: int,
    notes: list[str],
) -> tuple[str, int | None]:
    """The DuckDB query for ``table`` (earlier views and outputs become DuckDB views)."""
    translator = Translator(test, flink_settings(test, stmts))
    target: Translation | None = None
    dropped: int | None = 0
    for s in stmts:
        if s.kind is Kind.SET:
            continue
        if s.kind is Kind.OTHER:
            vm = _VIEW.match(s.sql)
            if vm is None:
                continue  # CREATE FUNCTION etc.: DuckDB will say if the query needs it
            tr = translator.translate(vm["q"])
            dropped = _add(dropped, _windows(gt, tr, lateness, notes))
            name = statements.strip_name(vm["name"])
            gt.con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS {tr.sql}")
            continue
        assert s.target is not None and s.query is not None
        query = s.query
        if re.match(r"\s*\(", query):
            raise SqlShapeError("INSERT with a column list is not modelled")
        tr = translator.translate(query)
        if s.target == table:
            target = tr
            dropped = _add(dropped, _windows(gt, tr, lateness, notes))
            break
        _windows(gt, tr, lateness, [])
        gt.con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(s.target)} AS {tr.sql}")
    if target is None:
        raise SqlShapeError(f"no statement writes {table!r}")
    late = sum(gt.late_sent.values())
    if translator.rowtime_dedup and late:
        notes.append(
            "event-time deduplication: rows behind the watermark on arrival are dropped "
            "(late-drop count not predicted)"
        )
        dropped = None
    if not target.windows and late and (target.temporal_joins or target.interval_join):
        notes.append(
            f"{late} late events enter a time-based join: the oracle assumes all of them join "
            "(Flink may expire state earlier); late drops not predicted"
        )
        dropped = None
    return target.sql, dropped


def _windows(gt: GroundTruth, tr: Translation, lateness: int, notes: list[str]) -> int:
    dropped = 0
    for name, spec in tr.windows:
        res = materialize(gt, spec, name, lateness_ms=lateness)
        dropped += res.dropped
        late = gt.late_sent.get(spec.source, 0)
        notes.append(
            f"{spec.describe()}: {res.reached} events reach it, {late} sent late, "
            f"{res.dropped} dropped (every window they belong to had fired)"
            + (f", allowed lateness {lateness} ms" if lateness else "")
        )
    return dropped


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _rows(
    names: list[str], raw: list[tuple[Any, ...]], columns: list[Column], table: str
) -> list[dict[str, Any]]:
    """Result tuples as rows named like the output's columns (by name, else by position)."""
    keep = [i for i, n in enumerate(names) if n not in META and not n.startswith("_ctt_")]
    got = [names[i] for i in keep]
    want = [c.name for c in columns]
    if not want:
        mapping = list(zip(got, keep, strict=True))
    elif set(want) <= set(got):
        mapping = [(w, keep[got.index(w)]) for w in want]
    elif len(got) == len(want):
        mapping = list(zip(want, keep, strict=True))
    else:
        raise ConfigError(
            f"the oracle's result for {table!r} has columns {got}, the output has {want}"
        )
    types = {c.name: c.type for c in columns}
    return [{n: _value(r[i], types.get(n)) for n, i in mapping} for r in raw]


def _value(v: Any, flink_type: str | None) -> Any:
    """DuckDB value as Flink would write it (integer AVG truncates, as Java's long division)."""
    if v is None or flink_type is None:
        return v
    kind = base_type(flink_type)
    if kind in _INTS and isinstance(v, (float, Decimal)):
        return int(v)
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (datetime, date)):
        return v
    return v


__all__ = ["OracleResult", "allowed_lateness", "compute_expected"]

"""Comparing rows the way a streaming test needs: typed normalisation, tolerance, changelogs, diffs.

Values arrive from Flink's JSON (strings for timestamps, numbers for decimals)
and from YAML (datetimes, ints, strings); both are normalised by the output
column's Flink type before comparison.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from ctt.observed.model import (
    Column,
    OutputRow,
    TableOutput,
    ValidationContext,
    base_type,
    is_proctime,
)

Row = dict[str, Any]
_TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
)


def _parse_ts(value: str) -> datetime | str:
    """A timestamp as naive UTC, or the text itself when it is not one."""
    text = value.strip().rstrip("Z")
    try:  # the common case, ~20x cheaper than strptime; the formats below keep their leniency
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    except ValueError:
        pass
    for fmt in _TS_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return value


def normalize(value: Any, flink_type: str | None) -> Any:
    """One canonical Python value per logical value, so equal things compare equal."""
    if value is None:
        return None
    kind = base_type(flink_type) if flink_type else ""
    if kind in ("TIMESTAMP", "TIMESTAMP_LTZ", "TIMESTAMP_WITH_LOCAL_TIME_ZONE"):
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value / 1000, UTC).replace(tzinfo=None)
        if isinstance(value, str):
            return _parse_ts(value)
    if kind == "DATE":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                return value
    if kind in ("DECIMAL", "DOUBLE", "FLOAT", "REAL", "NUMERIC", "DEC"):
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    if kind in ("BIGINT", "INT", "INTEGER", "SMALLINT", "TINYINT"):
        if isinstance(value, bool):
            return value
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if kind == "BOOLEAN" and isinstance(value, str):
        return value.strip().lower() == "true"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return value


def values_equal(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            fa, fb = float(a), float(b)
        except (TypeError, ValueError):
            return bool(a == b)
        if math.isnan(fa) and math.isnan(fb):
            return True
        return math.isclose(fa, fb, abs_tol=tolerance, rel_tol=0.0) or fa == fb
    return bool(a == b)


class Comparer:
    """Normalises and compares rows of one output table."""

    def __init__(
        self, columns: Sequence[Column], *, tolerance: float = 1e-9, ignore: Iterable[str] = ()
    ) -> None:
        self.types = {c.name: c.type for c in columns}
        self.tolerance = tolerance
        self.ignore = set(ignore) | {c.name for c in columns if is_proctime(c.type)}

    def norm(self, row: Row) -> Row:
        return {k: normalize(v, self.types.get(k)) for k, v in row.items() if k not in self.ignore}

    def equal(self, expected: Row, actual: Row) -> bool:
        """``actual`` satisfies ``expected`` on every column ``expected`` names."""
        return all(
            k in actual and values_equal(v, actual[k], self.tolerance) for k, v in expected.items()
        )

    def _bucket_key(self, row: Row, names: Sequence[str]) -> tuple[str, ...]:
        return tuple(repr(row.get(n)) for n in names)

    def match(self, expected: list[Row], actual: list[Row]) -> Match:
        """Multiset matching; exact (hashable) columns bucket the work, floats compare with tolerance."""
        exp = [self.norm(r) for r in expected]
        act = [self.norm(r) for r in actual]
        names = sorted({k for r in exp for k in r})
        exact = [
            n
            for n in names
            if base_type(self.types.get(n, "")) not in ("DECIMAL", "DOUBLE", "FLOAT", "REAL")
            and not any(isinstance(r.get(n), float) for r in exp[:50])
        ]
        buckets: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, row in enumerate(act):
            buckets[self._bucket_key(row, exact)].append(i)
        used = [False] * len(act)
        missing: list[Row] = []
        matched = 0
        for row in exp:
            cands = buckets.get(self._bucket_key(row, exact), [])
            hit = next((i for i in cands if not used[i] and self.equal(row, act[i])), None)
            if hit is None:
                missing.append(row)
            else:
                used[hit] = True
                matched += 1
        unexpected = [act[i] for i, u in enumerate(used) if not u]
        return Match.of(exp, act, matched, missing, unexpected)

    def match_ordered(self, expected: list[Row], actual: list[Row]) -> Match:
        exp = [self.norm(r) for r in expected]
        act = [self.norm(r) for r in actual]
        matched = 0
        missing, unexpected = [], []
        for i in range(max(len(exp), len(act))):
            e = exp[i] if i < len(exp) else None
            a = act[i] if i < len(act) else None
            if e is not None and a is not None and self.equal(e, a):
                matched += 1
                continue
            if e is not None:
                missing.append(e)
            if a is not None:
                unexpected.append(a)
        return Match.of(exp, act, matched, missing, unexpected)


class Match(BaseModel):
    expected: int
    actual: int
    matched: int
    missing: list[Row] = Field(default_factory=list)
    unexpected: list[Row] = Field(default_factory=list)

    @classmethod
    def of(
        cls, exp: list[Row], act: list[Row], matched: int, missing: list[Row], unexpected: list[Row]
    ) -> Match:
        """The match of normalised expected and actual rows."""
        return cls(
            expected=len(exp),
            actual=len(act),
            matched=matched,
            missing=missing,
            unexpected=unexpected,
        )

    @property
    def accuracy(self) -> float:
        """Matched share of expected rows, penalising extra rows (1.0 only when both sides agree)."""
        denom = max(self.expected, self.actual)
        return 1.0 if denom == 0 else self.matched / denom

    @property
    def perfect(self) -> bool:
        return not self.missing and not self.unexpected


def final_state(records: Iterable[OutputRow]) -> list[Row]:
    """Apply a changelog (+I/+U add a row, -U/-D remove one) and return what remains."""
    state: dict[str, list[Row]] = defaultdict(list)
    for rec in records:
        key = json.dumps(rec.row, sort_keys=True, default=str)
        if rec.op in ("+I", "+U"):
            state[key].append(rec.row)
        elif rec.op in ("-U", "-D") and state.get(key):
            state[key].pop()
    return [row for rows in state.values() for row in rows]


def upsert_state(records: Iterable[OutputRow], key: Sequence[str]) -> list[Row]:
    """Final state of an upsert stream: last value per key, deletes remove the key."""
    state: dict[tuple[Any, ...], Row] = {}
    for rec in records:
        k = tuple(rec.row.get(c) for c in key)
        if rec.op == "-D":
            state.pop(k, None)
        elif rec.op in ("+I", "+U"):
            state[k] = rec.row
    return list(state.values())


def _fmt(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return json.dumps(value, default=str)


def _row_text(row: Row) -> str:
    return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in row.items()) + "}"


def render_diff(match: Match, *, limit: int = 20) -> str:
    """Expected-vs-actual, testdrive style: paired rows show the fields that differ, the rest +/-."""
    lines = [f"expected {match.expected} rows, got {match.actual}, matched {match.matched}"]
    missing = list(match.missing)
    unexpected = list(match.unexpected)
    pairs = []
    for m in list(missing):
        best, score = None, 0
        for u in unexpected:
            same = sum(1 for k, v in m.items() if k in u and u[k] == v)
            if same > score:
                best, score = u, same
        if best is not None and score >= max(1, len(m) // 2):
            pairs.append((m, best))
            missing.remove(m)
            unexpected.remove(best)
    shown = 0
    for exp, act in pairs:
        if shown >= limit:
            break
        ident = ", ".join(f"{k}={_fmt(v)}" for k, v in exp.items() if k in act and act[k] == v)
        diffs = "; ".join(
            f"{k}: expected {_fmt(v)}, got {_fmt(act.get(k))}"
            for k, v in exp.items()
            if act.get(k) != v
        )
        lines.append(f"  ~ [{ident}] {diffs}")
        shown += 1
    for row in missing:
        if shown >= limit:
            break
        lines.append(f"  - {_row_text(row)}   (expected, not produced)")
        shown += 1
    for row in unexpected:
        if shown >= limit:
            break
        lines.append(f"  + {_row_text(row)}   (produced, not expected)")
        shown += 1
    rest = len(pairs) + len(missing) + len(unexpected) - shown
    if rest > 0:
        lines.append(f"  ... and {rest} more differences")
    return "\n".join(lines)


def actual_rows(out: TableOutput) -> list[dict[str, Any]]:
    """The rows a reader of the output table would see at the end: final state for changelogs."""
    if out.changelog or out.updating:
        return final_state(out.records)
    return [r.row for r in out.records]


def compare(out: TableOutput) -> Any:
    """Match actual rows against expected ones (None when the table has no expected rows)."""
    if out.expected_rows is None:
        return None
    cmp = Comparer(out.columns, tolerance=out.tolerance, ignore=out.ignore_columns)
    actual = actual_rows(out)
    if out.ordered:
        return cmp.match_ordered(out.expected_rows, actual)
    return cmp.match(out.expected_rows, actual)


class Accuracy(BaseModel):
    """Matched rows over max(expected, produced), summed over every output with expected rows."""

    matched: int = 0
    total: int = 0
    diffs: list[str] = Field(default_factory=list)

    @property
    def share(self) -> float | None:
        return self.matched / self.total if self.total else None


def row_accuracy(ctx: ValidationContext, *, diff_limit: int = 20) -> Accuracy:
    """The accuracy the row-level checks share, with a readable diff per differing output."""
    acc = Accuracy()
    for name, out in ctx.outputs.items():
        m = compare(out)
        if m is None:
            continue
        acc.matched += m.matched
        acc.total += max(m.expected, m.actual)
        if not m.perfect:
            acc.diffs.append(f"{name}: {render_diff(m, limit=diff_limit)}")
    return acc

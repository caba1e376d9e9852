"""row_count_relation: counts that must relate, e.g. ``sum(out.n) == events - late_dropped``.

One relation a string, ``<expr> <op> <expr>``, op one of ``== != < <= > >=``; an
expr adds and subtracts terms:

- ``t``: rows of table ``t`` (an output's final rows, a source's sent records);
- ``sum(t.c)``: the sum of column ``c`` (NULLs skipped);
- ``late(t)``: late events sent to source ``t``;
- ``late_dropped``: Flink's count of late records dropped;
- an integer.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._data import fail, sources, table_rows
from ctt.validate.registry import register

_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_NAME = r"[A-Za-z_]\w*"
_TERM = re.compile(
    rf"\s*(?:(?P<int>\d+)|sum\(\s*(?P<st>{_NAME})\.(?P<sc>{_NAME})\s*\)"
    rf"|late\(\s*(?P<lt>{_NAME})\s*\)|(?P<name>{_NAME}))\s*"
)
_SPLIT = re.compile(r"(==|!=|<=|>=|=|<|>)")


class Term(BaseModel):
    sign: int = 1
    kind: str  # int | rows | sum | late | late_dropped
    table: str | None = None
    column: str | None = None
    value: int = 0

    def text(self) -> str:
        if self.kind == "int":
            return str(self.value)
        if self.kind == "sum":
            return f"sum({self.table}.{self.column})"
        if self.kind == "late":
            return f"late({self.table})"
        return self.table or self.kind


class Relation(BaseModel):
    text: str
    left: list[Term]
    op: str
    right: list[Term]


def _expr(text: str, whole: str) -> list[Term]:
    terms: list[Term] = []
    rest = text.strip()
    sign = 1
    while True:
        m = _TERM.match(rest)
        if not m or not rest:
            raise ValueError(f"cannot read {whole!r} near {rest or 'the end'!r}")
        if m["int"]:
            terms.append(Term(sign=sign, kind="int", value=int(m["int"])))
        elif m["st"]:
            terms.append(Term(sign=sign, kind="sum", table=m["st"], column=m["sc"]))
        elif m["lt"]:
            terms.append(Term(sign=sign, kind="late", table=m["lt"]))
        elif m["name"] == "late_dropped":
            terms.append(Term(sign=sign, kind="late_dropped"))
        else:
            terms.append(Term(sign=sign, kind="rows", table=m["name"]))
        rest = rest[m.end() :]
        if not rest:
            return terms
        if rest[0] not in "+-":
            raise ValueError(f"cannot read {whole!r} near {rest!r} (terms join with + or -)")
        sign = 1 if rest[0] == "+" else -1
        rest = rest[1:]


def relation(text: str) -> Relation:
    parts = _SPLIT.split(text)
    if len(parts) != 3:
        raise ValueError(f"{text!r}: write one comparison, e.g. 'out <= events'")
    left, op, right = parts
    return Relation(text=text.strip(), left=_expr(left, text), op=op, right=_expr(right, text))


def _parse(raw: Any) -> list[Relation]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise ValueError("give a relation or a list of them, e.g. 'summary <= user_events'")
    return [relation(i) for i in items]


def _value(t: Term, ctx: ValidationContext) -> float:
    if t.kind == "int":
        return t.value
    if t.kind == "late_dropped":
        dropped = ctx.metrics.late_records_dropped
        if dropped is None:
            raise fail(ctx, "row_count_relation", "Flink's late-drop count is unavailable")
        return dropped
    assert t.table is not None
    if t.kind == "late":
        if ctx.spec and t.table not in ctx.spec.test.tables and t.table not in sources(ctx):
            raise fail(ctx, "row_count_relation", f"no source table {t.table!r}")
        return sum(1 for r in sources(ctx).get(t.table, []) if r.late and not r.closing)
    cols, rows = table_rows(ctx, t.table, "row_count_relation")
    if t.kind == "rows":
        return len(rows)
    if t.column not in cols:
        raise fail(ctx, "row_count_relation", f"table {t.table!r} has no column {t.column!r}")
    return float(sum(float(r[t.column]) for r in rows if r.get(t.column) is not None))


def _side(terms: list[Term], ctx: ValidationContext) -> tuple[float, str]:
    total = 0.0
    text = []
    for i, t in enumerate(terms):
        v = _value(t, ctx)
        total += t.sign * v
        shown = f"{v:g}"
        text.append(shown if i == 0 and t.sign > 0 else f"{'+' if t.sign > 0 else '-'} {shown}")
    return total, " ".join(text)


@register("row_count_relation", parse=_parse)
def check(arg: list[Relation], ctx: ValidationContext) -> Outcome:
    """Each relation evaluated over the run's tables; the numbers are shown either way."""
    lines = []
    failed = 0
    for rel in arg:
        lv, lt = _side(rel.left, ctx)
        rv, rt = _side(rel.right, ctx)
        ok = _OPS[rel.op](lv, rv)
        failed += not ok
        lines.append(f"{'ok  ' if ok else 'FAIL'} {rel.text}: {lt} {rel.op} {rt}")
    return Outcome(
        name="row_count_relation",
        passed=failed == 0,
        summary=f"{len(arg) - failed} of {len(arg)} relations hold"
        + ("" if failed else f" ({'; '.join(line[5:] for line in lines)})"),
        measured=float(failed),
        threshold=0.0,
        details="\n".join(lines) if failed else None,
    )

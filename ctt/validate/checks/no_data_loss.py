"""no_data_loss: per source partition, good rows out + records in the DLQ = records sent.

For 1:1 transformations (projections, casts, enrichment that keeps every row): each good
record must yield one output row and each bad one a DLQ row. Output rows are placed in
the partition of the sent record with the same Kafka key (the source's key columns), so
a loss shows where it happened; when the output lacks the key columns, or one key was
sent to several partitions, totals are compared instead and the summary says so. A
filter or an aggregation changes counts by design: use row checks there.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import actual_rows
from ctt.validate.checks._data import fail
from ctt.validate.checks._dlq import match
from ctt.validate.registry import register

_NAME = "no_data_loss"


def parse(raw: Any) -> str | None:
    """``true`` (the one output besides the DLQ) or ``{output: table}``."""
    if raw is True:
        return None
    if isinstance(raw, dict) and set(raw) == {"output"} and isinstance(raw["output"], str):
        return raw["output"]
    raise ValueError(f"expected true or {{output: table}}, got {raw!r}")


def _key(row: dict[str, Any] | None, cols: list[str]) -> tuple[str, ...] | None:
    if row is None or not cols or any(c not in row for c in cols):
        return None
    return tuple(str(row[c]) for c in cols)


@register(_NAME, parse=parse)
def check(output: str | None, ctx: ValidationContext) -> Outcome:
    names = [output] if output else sorted(ctx.outputs)
    if len(names) != 1 or names[0] not in ctx.outputs:
        raise fail(
            ctx,
            _NAME,
            f"name the output to count: `{_NAME}: {{output: ...}}` "
            f"(outputs: {', '.join(sorted(ctx.outputs))})",
        )
    m = match(ctx, _NAME)
    rows = actual_rows(ctx.outputs[names[0]])
    test = ctx.spec.test if ctx.spec else None
    table = test.tables.get(m.source or "") if test else None
    key_cols = table.key_columns() if table else []
    sent = Counter(r.partition for r in m.sent)
    dlq = Counter(rec.partition for rec, _ in m.matched)
    part_of: dict[tuple[str, ...], set[int]] = {}
    for r in m.sent:
        k = _key(r.row, key_cols)
        if k is not None and r.malformed is None:
            part_of.setdefault(k, set()).add(r.partition)
    keys = [_key(row, key_cols) for row in rows]
    placeable = all(k is not None and len(part_of.get(k, ())) == 1 for k in keys)
    extra = len(m.unmatched)
    if placeable and not extra:
        out = Counter(next(iter(part_of[k])) for k in keys if k is not None)
        bad = [
            f"partition {p}: sent {sent[p]}, out {out[p]} + DLQ {dlq[p]}"
            for p in sorted(set(sent) | set(out))
            if out[p] + dlq[p] != sent[p]
        ]
        total_out, how = sum(out.values()), "per partition"
    else:
        total_out, how = len(rows), "in total (rows cannot be placed in partitions)"
        bad = (
            []
            if total_out + len(m.matched) + extra == len(m.sent)
            else [f"sent {len(m.sent)}, out {total_out} + DLQ {len(m.matched) + extra}"]
        )
    accounted = total_out + len(m.matched) + extra
    return Outcome(
        name=_NAME,
        passed=not bad,
        summary="; ".join(bad)
        or f"all {len(m.sent)} records accounted for {how}: {total_out} out, "
        f"{len(m.matched) + extra} in the DLQ",
        measured=float(accounted),
        threshold=float(len(m.sent)),
        details="\n".join(f"partition {p}: sent {sent[p]}, DLQ {dlq[p]}" for p in sorted(sent)),
    )

"""join_accuracy: share of expected joined rows the job produced (extra rows count against it)."""

from __future__ import annotations

from collections import Counter

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import compare
from ctt.validate.checks._args import share
from ctt.validate.checks._table import describe, render
from ctt.validate.checks._windows import accuracy_outcome
from ctt.validate.registry import register


@register("join_accuracy", parse=share)
def check(threshold: float, ctx: ValidationContext) -> Outcome:
    """On failure: the join keys whose rows are missing or unexpected, with counts."""
    matched = total = 0
    sections: list[str] = []
    for name, out in ctx.outputs.items():
        m = compare(out)
        if m is None:
            continue
        matched += m.matched
        total += max(m.expected, m.actual)
        ident = out.identity()
        keys = [c for c in ident if "time" not in c.lower() and "date" not in c.lower()] or ident
        missing = Counter(describe(r, keys) for r in m.missing)
        extra = Counter(describe(r, keys) for r in m.unexpected)
        rows = [
            [k, str(missing.get(k, 0)), str(extra.get(k, 0))]
            for k in sorted(missing.keys() | extra.keys())
        ]
        if rows:
            sections.append(
                f"{name}: {len(rows)} unmatched key(s)\n"
                + render(["join key", "missing rows", "unexpected rows"], rows)
            )
    return accuracy_outcome(
        "join_accuracy",
        matched,
        total,
        threshold,
        empty="no join results expected or produced",
        summary="join accuracy {acc} ({matched} of {total} rows; threshold {threshold})",
        sections=sections,
        prop="join_accuracy",
    )

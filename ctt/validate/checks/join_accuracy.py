"""join_accuracy: share of expected joined rows the job produced (extra rows count against it)."""

from __future__ import annotations

from ctt.validate.base import Outcome, ValidationContext, compare
from ctt.validate.checks._args import pct, share
from ctt.validate.registry import register


@register("join_accuracy", parse=share)
def check(threshold: float, ctx: ValidationContext) -> Outcome:
    matched = total = 0
    unmatched: list[str] = []
    for name, out in ctx.outputs.items():
        m = compare(out)
        if m is None:
            continue
        matched += m.matched
        total += max(m.expected, m.actual)
        ident = out.identity()
        unmatched += [
            f"{name}: missing join result for {[r.get(c) for c in ident]}" for r in m.missing[:10]
        ]
        unmatched += [
            f"{name}: unexpected join result for {[r.get(c) for c in ident]}"
            for r in m.unexpected[:10]
        ]
    if total == 0:
        return Outcome(
            name="join_accuracy", passed=False, summary="no join results expected or produced"
        )
    acc = matched / total
    return Outcome(
        name="join_accuracy",
        passed=acc >= threshold,
        summary=f"join accuracy {pct(acc)} (threshold {pct(threshold)})",
        measured=acc,
        threshold=threshold,
        details="\n".join(unmatched) or None,
    )

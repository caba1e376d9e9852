"""streaming_data_accuracy: share of expected rows produced exactly, over all outputs (default 99.9%)."""

from __future__ import annotations

from typing import Any

from ctt.validate.base import Outcome, ValidationContext, compare
from ctt.validate.checks._args import pct, share
from ctt.validate.registry import register
from ctt.validate.rows import render_diff


def _parse(raw: Any) -> float:
    return 0.999 if raw is True else share(raw)


@register("streaming_data_accuracy", parse=_parse)
def check(threshold: float, ctx: ValidationContext) -> Outcome:
    matched = total = 0
    diffs = []
    for name, out in ctx.outputs.items():
        m = compare(out)
        if m is None:
            continue
        matched += m.matched
        total += max(m.expected, m.actual)
        if not m.perfect:
            diffs.append(f"{name}: {render_diff(m, limit=10)}")
    acc = matched / total if total else 0.0
    return Outcome(
        name="streaming_data_accuracy",
        passed=total > 0 and acc >= threshold,
        summary=f"streaming data accuracy {pct(acc)} (threshold {pct(threshold)})",
        measured=acc,
        threshold=threshold,
        details="\n".join(diffs) or None,
        properties={"streaming_data_accuracy": f"{acc:.6f}"},
    )

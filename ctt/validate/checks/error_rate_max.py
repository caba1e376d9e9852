"""error_rate_max: the share of records sent to the routed source that ended in the DLQ is at most N%.

A budget, not a routing check: it passes when routing is wrong in a way that keeps the
count low (use ``dlq_routing`` for which records went where).
"""

from __future__ import annotations

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import actual_rows
from ctt.validate.checks._args import pct, share
from ctt.validate.checks._dlq import dead_letters, match
from ctt.validate.registry import register


@register("error_rate_max", parse=share)
def check(limit: float, ctx: ValidationContext) -> Outcome:
    m = match(ctx, "error_rate_max")
    errors = len(actual_rows(dead_letters(ctx, "error_rate_max")))
    rate = errors / len(m.sent) if m.sent else 0.0
    return Outcome(
        name="error_rate_max",
        passed=rate <= limit + 1e-12,
        summary=f"{errors} of {len(m.sent)} records in the DLQ ({pct(rate)}, max {pct(limit)})",
        measured=rate,
        threshold=limit,
    )

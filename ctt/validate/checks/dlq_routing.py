"""dlq_routing: every malformed record sent is in the dead-letter table, with its payload and a reason.

Ground truth: the generator marks each malformed record it mixed in (``error_handling:``).
Passes when each is in the DLQ once, byte for byte, with a non-empty ``reason``, and the
DLQ holds nothing else (no good record, no duplicate). It cannot tell whether a good
record that never arrived anywhere was lost: that is ``no_data_loss``.
"""

from __future__ import annotations

from collections import Counter

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._args import flag
from ctt.validate.checks._dlq import cut, dlq_written, match
from ctt.validate.registry import register


@register("dlq_routing", parse=flag)
def check(enabled: bool, ctx: ValidationContext) -> Outcome:
    if not enabled:
        return Outcome(name="dlq_routing", passed=True, summary="disabled")
    m = match(ctx, "dlq_routing")
    no_reason = [row for _, row in m.matched if not str(row.get("reason") or "").strip()]
    problems: list[str] = []
    if not dlq_written(ctx):
        problems.append("the job wrote no dead-letter table")
    if m.missing:
        kinds = Counter(r.malformed for r in m.missing)
        problems.append(
            f"{len(m.missing)} malformed record(s) not in the DLQ ("
            + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
            + f"), e.g. {cut(m.missing[0].payload)}"
        )
    if m.unmatched:
        problems.append(
            f"{len(m.unmatched)} DLQ row(s) that are no malformed record sent (a good record "
            f"or a duplicate), e.g. {cut(str(m.unmatched[0].get('payload')))}"
        )
    if no_reason:
        problems.append(f"{len(no_reason)} DLQ row(s) without a reason")
    reasons = Counter(
        f"{rec.malformed} -> {row.get('reason') or ''!s}".split(":")[0] for rec, row in m.matched
    )
    details = "\n".join(f"{k}: {n}" for k, n in sorted(reasons.items())) or None
    matched = len(m.matched) - len(no_reason)
    return Outcome(
        name="dlq_routing",
        passed=not problems,
        summary="; ".join(problems)
        or f"all {len(m.bad)} malformed records in the DLQ with a reason, nothing else there",
        measured=float(matched),
        threshold=float(len(m.bad)),
        details=details,
    )

"""dlq_routing: every malformed record sent is in the dead-letter table, with its payload and a reason.

Ground truth: the generator marks each malformed record it mixed in (``error_handling:``).
Passes when each is in the DLQ once, byte for byte, with a non-empty ``reason``, and the
DLQ holds nothing else (no good record, no duplicate). The reason must also name the kind:
with ``{reasons: {kind: text}}`` it starts with the text given for the record's kind; with
``true`` and ctt's generated routing it starts with the kind itself (``wrong_type: col``).
It cannot tell whether a good record that never arrived anywhere was lost: that is
``no_data_loss``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ctt.config.datagen import MalformedKind
from ctt.config.error_handling import Routing
from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._dlq import cut, dlq_written, match
from ctt.validate.registry import register

Reasons = dict[str, str] | None
"""Kind -> the text its reason starts with; None: the kinds themselves (generated routing)."""


def parse(raw: Any) -> Reasons | bool:
    """``true``/``false``, or ``{reasons: {kind: text}}``."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, dict) and set(raw) == {"reasons"} and isinstance(raw["reasons"], dict):
        kinds = {k.value for k in MalformedKind}
        for kind, text in raw["reasons"].items():
            if kind not in kinds or not isinstance(text, str) or not text:
                raise ValueError(
                    f"reasons: {kind!r} -> {text!r}: kinds are {', '.join(sorted(kinds))}"
                )
        return {str(k): str(v) for k, v in raw["reasons"].items()}
    raise ValueError(f"expected true or {{reasons: {{kind: text}}}}, got {raw!r}")


def _wanted(arg: Reasons | bool, ctx: ValidationContext) -> dict[str, str] | None:
    """Kind -> reason prefix to check; None to check only that a reason is given."""
    if isinstance(arg, dict):
        return arg
    eh = ctx.spec.test.error_handling if ctx.spec else None
    if eh is not None and eh.routing is Routing.GENERATED:
        return {k.value: k.value for k in MalformedKind}
    return None


@register("dlq_routing", parse=parse)
def check(arg: Reasons | bool, ctx: ValidationContext) -> Outcome:
    if arg is False:
        return Outcome(name="dlq_routing", passed=True, summary="disabled")
    m = match(ctx, "dlq_routing")
    wanted = _wanted(arg, ctx)
    no_reason = [row for _, row in m.matched if not str(row.get("reason") or "").strip()]
    wrong = [
        (rec, row)
        for rec, row in m.matched
        if wanted is not None
        and rec.malformed in wanted
        and str(row.get("reason") or "").strip()
        and not str(row.get("reason")).startswith(wanted[rec.malformed])
    ]
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
    if wrong:
        rec, row = wrong[0]
        want = (wanted or {}).get(rec.malformed or "", "")
        problems.append(
            f"{len(wrong)} DLQ row(s) whose reason does not name their kind, e.g. {rec.malformed} "
            f"with reason {row.get('reason')!r} (expected {want!r}...)"
        )
    reasons = Counter(
        f"{rec.malformed} -> {row.get('reason') or ''!s}".split(":")[0] for rec, row in m.matched
    )
    details = "\n".join(f"{k}: {n}" for k, n in sorted(reasons.items())) or None
    matched = len(m.matched) - len(no_reason) - len(wrong)
    return Outcome(
        name="dlq_routing",
        passed=not problems,
        summary="; ".join(problems)
        or f"all {len(m.bad)} malformed records in the DLQ with a reason, nothing else there",
        measured=float(matched),
        threshold=float(len(m.bad)),
        details=details,
    )

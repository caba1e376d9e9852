"""changelog_final_state: apply +I/-U/+U/-D per row and compare what remains with the expected rows."""

from __future__ import annotations

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import compare, render_diff
from ctt.validate.checks._args import flag
from ctt.validate.registry import register


@register("changelog_final_state", parse=flag)
def check(arg: bool, ctx: ValidationContext) -> Outcome:
    """Treat every output as a changelog, whatever its declared mode."""
    diffs = []
    ops: dict[str, int] = {}
    for name, out in ctx.outputs.items():
        for rec in out.records:
            ops[rec.op] = ops.get(rec.op, 0) + 1
        m = compare(out.model_copy(update={"changelog": True}))
        if m is not None and not m.perfect:
            diffs.append(f"{name}: {render_diff(m)}")
    seen = ", ".join(f"{op} {n}" for op, n in sorted(ops.items()))
    return Outcome(
        name="changelog_final_state",
        passed=not diffs,
        summary=f"final state {'matches' if not diffs else 'differs'} ({seen or 'no changes'})",
        details="\n".join(diffs) or None,
    )

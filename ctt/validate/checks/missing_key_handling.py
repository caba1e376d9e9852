"""missing_key_handling: events whose key has no match are dropped (inner) or kept with NULLs (left)."""

from __future__ import annotations

from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import Comparer, actual_rows
from ctt.validate.checks._args import flag
from ctt.validate.registry import register


@register("missing_key_handling", parse=flag)
def check(arg: Any, ctx: ValidationContext) -> Outcome:
    """Compares the rows with NULL enrichment columns, and rows for keys that should have been dropped."""
    problems = []
    null_rows = 0
    for name, out in ctx.outputs.items():
        if out.expected_rows is None:
            continue
        cmp = Comparer(out.columns, tolerance=out.tolerance, ignore=out.ignore_columns)
        exp_null = [r for r in out.expected_rows if any(v is None for v in r.values())]
        act_null = [r for r in actual_rows(out) if any(v is None for v in cmp.norm(r).values())]
        null_rows += len(act_null)
        m = cmp.match(exp_null, act_null)
        problems += [f"{name}: expected a row kept with NULLs: {r}" for r in m.missing[:10]]
        problems += [f"{name}: row with NULLs should not exist: {r}" for r in m.unexpected[:10]]
        full = cmp.match(out.expected_rows, actual_rows(out))
        ident = out.identity()
        for r in full.unexpected[:10]:
            if not any(v is None for v in r.values()):
                problems.append(
                    f"{name}: row for an unmatched or wrong key: {[r.get(c) for c in ident]}"
                )
    return Outcome(
        name="missing_key_handling",
        passed=not problems,
        summary=f"{null_rows} rows with missing keys handled"
        if not problems
        else f"{len(problems)} problem(s)",
        details="\n".join(problems) or None,
    )

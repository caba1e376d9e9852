"""rows_match: outputs equal the expected rows (ordered or unordered, per `expected.order`)."""

from __future__ import annotations

from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.observed.rows import compare, render_diff
from ctt.validate.checks._table import listed_outcome
from ctt.validate.registry import register


def _parse(raw: Any) -> str:
    if raw is True:
        return "as-declared"
    if raw in ("ordered", "unordered"):
        return str(raw)
    raise ValueError("use true, ordered or unordered")


@register("rows_match", parse=_parse)
def check(arg: str, ctx: ValidationContext) -> Outcome:
    """Every output with expected rows holds exactly them (changelogs compared by final state)."""
    diffs = []
    compared = 0
    for name, out in ctx.outputs.items():
        if arg != "as-declared":
            out = out.model_copy(update={"ordered": arg == "ordered"})
        m = compare(out)
        if m is None:
            continue
        compared += 1
        if not m.perfect:
            diffs.append(f"{name}: {render_diff(m)}")
    if compared == 0:
        return Outcome(name="rows_match", passed=False, summary="no expected rows to compare with")
    return listed_outcome(
        "rows_match", diffs, ok="rows match", failed=f"{len(diffs)} output(s) differ"
    )

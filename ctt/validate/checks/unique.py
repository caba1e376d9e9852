"""unique: no two final rows of an output share the given columns (dbt's `unique` data test)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._data import Columns, columns_arg, rows_outcome, target_rows
from ctt.validate.registry import register


@register("unique", parse=columns_arg)
def check(arg: Columns, ctx: ValidationContext) -> Outcome:
    """``unique: [user_id, window_start]`` or ``unique: {table: t, columns: [...]}``."""
    dupes: list[list[Any]] = []
    for name, rows in target_rows(ctx, arg.table, arg.columns, "unique"):
        seen = Counter(json.dumps([r.get(c) for c in arg.columns], default=str) for r in rows)
        for key, n in sorted(seen.items()):
            if n > 1:
                dupes.append([name, *json.loads(key), n])
    cols = ", ".join(arg.columns)
    return rows_outcome(
        "unique",
        ["table", *arg.columns, "rows"],
        dupes,
        "duplicated keys",
        ok=f"({cols}) unique",
        failed=f"{len(dupes)} duplicated ({cols})",
    )

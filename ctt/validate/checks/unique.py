"""unique: no two final rows of an output share the given columns (dbt's `unique` data test)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pydantic import Field

from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._data import (
    Args,
    columns_arg,
    failing_rows,
    output_rows,
    parse_args,
    targets,
)
from ctt.validate.registry import register


class Unique(Args):
    columns: list[str] = Field(min_length=1)
    table: str | None = Field(None, description="default: every output with these columns")


def _parse(raw: Any) -> Unique:
    return parse_args(Unique, columns_arg(raw))


@register("unique", parse=_parse)
def check(arg: Unique, ctx: ValidationContext) -> Outcome:
    """``unique: [user_id, window_start]`` or ``unique: {table: t, columns: [...]}``."""
    dupes: list[list[Any]] = []
    for name in targets(ctx, arg.table, arg.columns, "unique"):
        _, rows = output_rows(ctx, name)
        seen = Counter(json.dumps([r.get(c) for c in arg.columns], default=str) for r in rows)
        for key, n in sorted(seen.items()):
            if n > 1:
                dupes.append([name, *json.loads(key), n])
    cols = ", ".join(arg.columns)
    return Outcome(
        name="unique",
        passed=not dupes,
        summary=f"({cols}) unique" if not dupes else f"{len(dupes)} duplicated ({cols})",
        measured=float(len(dupes)),
        threshold=0.0,
        details=failing_rows(["table", *arg.columns, "rows"], dupes, "duplicated keys")
        if dupes
        else None,
    )

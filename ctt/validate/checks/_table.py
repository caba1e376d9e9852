"""Plain-text tables for failure details: the windows or join keys that differ, readable in JUnit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ctt.observed.model import Outcome


def cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def render(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, limit: int = 20) -> str:
    """Aligned columns; ``limit`` rows, then a count of the rest."""
    shown = [[cell(v) if not isinstance(v, str) else v for v in r] for r in rows[:limit]]
    widths = [max([len(h)] + [len(r[i]) for r in shown]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in shown]
    if len(rows) > limit:
        out.append(f"... and {len(rows) - limit} more")
    return "\n".join(out)


def split_identity(ident: Sequence[str]) -> tuple[list[str], list[str]]:
    """(key columns, window columns) of an output's identity."""
    window = [c for c in ident if "window" in c.lower() or c.lower().endswith(("_start", "_end"))]
    return [c for c in ident if c not in window], window


def describe(row: dict[str, Any] | None, cols: Sequence[str]) -> str:
    if row is None:
        return "(none)"
    return ", ".join(f"{c}={cell(row.get(c))}" for c in cols) or "(present)"


def listed_outcome(validation: str, problems: list[str], *, ok: str, failed: str) -> Outcome:
    """Passes when there are no ``problems``; else lists them, one a line."""
    return Outcome(
        name=validation,
        passed=not problems,
        summary=failed if problems else ok,
        details="\n".join(problems) or None,
    )

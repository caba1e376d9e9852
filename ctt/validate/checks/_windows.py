"""What the window and join checks share: expected outputs keyed by window, and an accuracy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ctt.observed.model import Outcome, TableOutput, ValidationContext
from ctt.observed.rows import Comparer
from ctt.validate.checks._args import pct
from ctt.validate.checks._table import split_identity

Row = dict[str, Any]


@dataclass(frozen=True)
class Windowed:
    """An output with expected rows, its identity split into key and window columns."""

    name: str
    out: TableOutput
    ident: list[str]
    keys: list[str]
    window: list[str]
    cmp: Comparer

    def by_window(self, rows: list[Row]) -> dict[str, Row]:
        """Normalised rows keyed by their identity columns (key and window bounds)."""
        out: dict[str, Row] = {}
        for r in rows:
            n = self.cmp.norm(r)
            out[json.dumps([n.get(c) for c in self.ident], default=str)] = n
        return out


def windowed(ctx: ValidationContext) -> Iterator[Windowed]:
    """Every output that has expected rows, in the context's order."""
    for name, out in ctx.outputs.items():
        if out.expected_rows is None:
            continue
        ident = out.identity()
        keys, window = split_identity(ident)
        cmp = Comparer(out.columns, tolerance=out.tolerance, ignore=out.ignore_columns)
        yield Windowed(name, out, ident, keys, window, cmp)


def accuracy_outcome(
    validation: str,
    matched: int,
    total: int,
    threshold: float,
    *,
    empty: str,
    summary: str,
    sections: list[str],
    prop: str,
) -> Outcome:
    """``matched / total`` against ``threshold``; fails with ``empty`` when nothing was compared.

    ``summary`` may name ``{matched}``, ``{total}``, ``{acc}`` and ``{threshold}`` (as percentages).
    """
    if total == 0:
        return Outcome(name=validation, passed=False, summary=empty)
    acc = matched / total
    return Outcome(
        name=validation,
        passed=acc >= threshold,
        summary=summary.format(
            matched=matched, total=total, acc=pct(acc), threshold=pct(threshold)
        ),
        measured=acc,
        threshold=threshold,
        details="\n\n".join(sections) or None,
        properties={prop: f"{acc:.6f}"},
    )

"""An event-time window over a column without a watermark: no time attribute, nothing fires."""

from __future__ import annotations

from collections.abc import Iterator

from ctt.lint.model import Finding, Severity
from ctt.lint.rules._sql import windows
from ctt.lint.rules._watermarks import ROWTIME, known_tables
from ctt.lint.units import LintUnit

NAME = "window_without_watermark"


def check(unit: LintUnit) -> Iterator[Finding]:
    tables = known_tables(unit)
    for w in windows(unit):
        known = tables.get(w.table or "")
        if known is None or w.column == ROWTIME or known.watermark_column == w.column:
            continue  # not a table ctt can see, Confluent's $rowtime, or a time attribute
        has = f" (its watermark is on {known.watermark_column!r})" if known.watermark_column else ""
        yield unit.at(
            w.offset,
            NAME,
            Severity.ERROR,
            f"{w.kind} window over {w.table}.{w.column}, which has no watermark{has}: "
            "an event-time window needs a time attribute",
            hint=f"declare `watermark: \"{w.column} - INTERVAL '5' SECOND\"` on the table (or "
            f"WATERMARK FOR {w.column} AS ...), or window over $rowtime on Confluent Cloud",
        )

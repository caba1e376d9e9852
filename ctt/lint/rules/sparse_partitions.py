"""Fewer than ~250 events per partition under Confluent Cloud's default ``SOURCE_WATERMARK()``.

The default watermark strategy is computed per Kafka partition and needs at least 250 events
in each before it advances (Confluent's "Move SQL statements to production" guide): a test with
less data sees its windows never fire on Confluent Cloud while they fire locally.
"""

from __future__ import annotations

from collections.abc import Iterator

from ctt.lint.model import Finding, Severity
from ctt.lint.rules._sql import windows
from ctt.lint.rules._watermarks import ROWTIME, known_tables
from ctt.lint.units import LintUnit

NAME = "sparse_partitions"
MIN_EVENTS_PER_PARTITION = 250


def check(unit: LintUnit) -> Iterator[Finding]:
    tables = known_tables(unit)
    for w in windows(unit):
        known = tables.get(w.table or "")
        default = w.column == ROWTIME or (known is not None and known.default_strategy)
        if not default:
            continue
        sent = unit.events.get(w.table or "")
        parts = (known.partitions if known else None) or 1
        if sent is not None and sent >= MIN_EVENTS_PER_PARTITION * parts:
            continue
        amount = (
            f"the test sends {sent} events over {parts} partition(s)"
            if sent is not None
            else ("the amount of input is not known here")
        )
        yield unit.at(
            w.offset,
            NAME,
            Severity.WARNING,
            f"{w.kind} window under the default SOURCE_WATERMARK(): Confluent Cloud needs at "
            f"least {MIN_EVENTS_PER_PARTITION} events per partition before the watermark moves; "
            f"{amount}",
            hint="declare a watermark on a payload column (WATERMARK FOR ts AS ts - INTERVAL "
            "'5' SECOND), or send enough events to every partition",
        )

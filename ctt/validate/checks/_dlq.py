"""What the dead-letter checks share: the routed source's records, the DLQ rows, their matching.

A DLQ row is matched to a malformed record the ground truth marks when its ``payload``
is that record's value as sent (byte for byte, as UTF-8 text); each record matches at
most one row, so a duplicate in the DLQ is an unmatched row. Poison records parse: they
are not expected in the DLQ (the job fails on them; ``job_fails_as_expected``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ctt.observed.model import InputRecord, TableOutput, ValidationContext
from ctt.observed.rows import actual_rows
from ctt.validate.checks._data import fail

PAYLOAD, REASON = "payload", "reason"
POISON = "poison"
_SHOW = 120


def cut(text: str | None, size: int = _SHOW) -> str:
    """A payload short enough for a one-line report."""
    if text is None:
        return "null"
    return text if len(text) <= size else f"{text[:size]}... ({len(text)} chars)"


class Matching(BaseModel):
    """The DLQ rows against the malformed records sent."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: str | None
    sent: list[InputRecord] = Field(description="records sent to the routed source (no closing)")
    bad: list[InputRecord] = Field(description="sent and marked malformed (poison not included)")
    matched: list[tuple[InputRecord, dict[str, Any]]] = Field(default_factory=list)
    missing: list[InputRecord] = Field(default_factory=list, description="bad, not in the DLQ")
    unmatched: list[dict[str, Any]] = Field(default_factory=list, description="DLQ rows, no match")


def dead_letters(ctx: ValidationContext, validation: str) -> TableOutput:
    """The dead-letter output; a config error when the test has none or the SQL never wrote it."""
    eh = ctx.spec.test.error_handling if ctx.spec else None
    if ctx.dead_letters is not None:
        return ctx.dead_letters
    if eh is None and ctx.spec is not None:
        raise fail(ctx, validation, "the test has no `error_handling:` section")
    return TableOutput(table=eh.dead_letter if eh else "dead_letter_queue", columns=[])


def match(ctx: ValidationContext, validation: str) -> Matching:
    dlq = dead_letters(ctx, validation)
    source = ctx.spec.test.error_source() if ctx.spec else None
    sent = [r for r in ctx.inputs if not r.closing and (source is None or r.table == source)]
    bad = [r for r in sent if r.malformed is not None and r.malformed != POISON]
    by_payload: dict[str | None, list[InputRecord]] = defaultdict(list)
    for rec in bad:
        by_payload[rec.payload].append(rec)
    m = Matching(source=source, sent=sent, bad=bad)
    for row in actual_rows(dlq):
        waiting = by_payload.get(row.get(PAYLOAD))
        if waiting:
            m.matched.append((waiting.pop(0), row))
        else:
            m.unmatched.append(row)
    m.missing = [r for rs in by_payload.values() for r in rs]
    return m


def dlq_written(ctx: ValidationContext) -> bool:
    return ctx.dead_letters is not None

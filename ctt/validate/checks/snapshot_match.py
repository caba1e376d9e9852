"""snapshot_match: the outputs equal the snapshot recorded beside the spec (ctt.expect.snapshot)."""

from __future__ import annotations

from ctt.expect import snapshot
from ctt.observed.model import Outcome, ValidationContext
from ctt.validate.checks._args import flag
from ctt.validate.registry import register


@register("snapshot_match", parse=flag)
def check(arg: bool, ctx: ValidationContext) -> Outcome:
    """Independent of the SQL: a recorded, reviewed run is the expectation, not a re-computation.

    Added by ctt when a snapshot exists or ``snapshot: true``; ``--update-snapshots`` records.
    """
    if not arg:
        return Outcome(name="snapshot_match", passed=True, summary="disabled")
    if ctx.snapshot is None:
        return Outcome(
            name="snapshot_match",
            passed=False,
            summary="no snapshot location (set `snapshot: true` and run through `ctt run`)",
        )
    v = snapshot.check(ctx.snapshot, ctx)
    return Outcome(
        name="snapshot_match",
        passed=v.passed,
        summary=v.summary,
        details=v.details,
        properties={"snapshot": str(ctx.snapshot.path), "snapshot_written": str(v.written).lower()},
    )

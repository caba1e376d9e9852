"""sink_rows_match: the rows in the PostgreSQL table are the output's expected rows (final state).

Expected rows are the sinked output's: explicit ``expected:`` rows, else the oracle's or
``reference_sql``'s, else the committed snapshot's. For an upsert sink the table holds one
row per key, so updates and retractions (deletes, with ``delete_on_tombstone``) must have
ended as the final rows; for an insert sink every output record is a row.
"""

from __future__ import annotations

from ctt.expect import snapshot
from ctt.observed.model import Outcome, TableOutput, TargetTable, ValidationContext
from ctt.observed.rows import Comparer, render_diff
from ctt.validate.checks._data import fail
from ctt.validate.checks._target import columns, flatten, sink_check, target_rows

_NAME = "sink_rows_match"


@sink_check(_NAME)
def check(tt: TargetTable, out: TableOutput, ctx: ValidationContext) -> Outcome:
    expected = out.expected_rows
    source = "expected rows"
    if expected is None and ctx.snapshot is not None:
        snap = snapshot.load(ctx.snapshot.path)
        table = snap.outputs.get(tt.output) if snap else None
        expected, source = (table.rows if table else None), "the snapshot"
    if expected is None:
        raise fail(
            ctx,
            _NAME,
            f"no expected rows for {tt.output!r} to compare the table with",
            hint="give `expected:` rows, generated data (the oracle) or record a snapshot",
        )
    cmp = Comparer(columns(out, tt), tolerance=out.tolerance, ignore=out.ignore_columns)
    m = cmp.match([flatten(r, tt) for r in expected], target_rows(tt))
    return Outcome(
        name=_NAME,
        passed=m.perfect,
        summary=f"{tt.table} holds the {m.expected} rows of {source}"
        if m.perfect
        else f"{tt.table}: {m.matched} of {m.expected} rows of {source} match, {m.actual} in the table",
        measured=float(m.matched),
        threshold=float(m.expected),
        details=None if m.perfect else render_diff(m),
    )

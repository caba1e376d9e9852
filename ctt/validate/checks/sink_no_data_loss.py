"""sink_no_data_loss: the table holds exactly the rows on the transformed topic, by key.

The topic's rows are what ctt read of the output (its final state by the sink's primary
key for an upsert sink, every record for an insert sink); the table must hold each of
them once and nothing else. Unlike ``sink_rows_match`` this needs no expectation: it
catches what the connector lost, duplicated or changed, not what the SQL got wrong.
"""

from __future__ import annotations

from ctt.observed.model import Outcome, TableOutput, TargetTable, ValidationContext
from ctt.observed.rows import Comparer, render_diff
from ctt.validate.checks._target import columns, sink_check, target_rows, topic_rows

_NAME = "sink_no_data_loss"


@sink_check(_NAME)
def check(tt: TargetTable, out: TableOutput, ctx: ValidationContext) -> Outcome:
    on_topic = topic_rows(out, tt)
    cmp = Comparer(columns(out, tt), tolerance=out.tolerance, ignore=out.ignore_columns)
    m = cmp.match(on_topic, target_rows(tt))
    how = f"by key ({', '.join(tt.key)})" if tt.upsert else "record for record"
    return Outcome(
        name=_NAME,
        passed=m.perfect,
        summary=f"all {m.expected} rows of the topic are in {tt.table} ({how})"
        if m.perfect
        else f"{len(m.missing)} topic row(s) missing from {tt.table}, "
        f"{len(m.unexpected)} row(s) there that the topic does not hold ({how})",
        measured=float(m.matched),
        threshold=float(m.expected),
        details=None if m.perfect else render_diff(m),
        properties={"topic_rows": str(m.expected), "target_rows": str(m.actual)},
    )

"""sink_type_mapping: each output column arrived in PostgreSQL with a type that keeps its values.

DECIMAL(p, s) must be ``numeric(p,s)``, TIMESTAMP_LTZ ``timestamp with time zone``,
TIMESTAMP ``timestamp without time zone``, DATE ``date``, integers and floats their
PostgreSQL kinds, text ``text`` or ``character varying``; a ROW is ``json``/``jsonb``
(``nested: json``) or its ``<row>_<field>`` columns (``nested: flatten``), ARRAY and MAP
``json``. A column missing from the table is a failure too. Values are ``sink_rows_match``'s
and ``sink_no_data_loss``'s business; this check catches a type that would round, shift
time zones or stringify.
"""

from __future__ import annotations

import re

from ctt.observed.model import (
    Column,
    Outcome,
    TableOutput,
    TargetTable,
    ValidationContext,
    base_type,
)
from ctt.validate.checks._table import listed_outcome
from ctt.validate.checks._target import columns, sink_check

_NAME = "sink_type_mapping"
_KINDS = {
    "TINYINT": {"smallint"},
    "SMALLINT": {"smallint"},
    "INT": {"integer"},
    "INTEGER": {"integer"},
    "BIGINT": {"bigint"},
    "FLOAT": {"real"},
    "REAL": {"real"},
    "DOUBLE": {"double precision"},
    "BOOLEAN": {"boolean"},
    "STRING": {"text", "character varying"},
    "VARCHAR": {"text", "character varying"},
    "CHAR": {"text", "character varying", "character"},
    "TIMESTAMP_LTZ": {"timestamp with time zone"},
    "TIMESTAMP_WITH_LOCAL_TIME_ZONE": {"timestamp with time zone"},
    "TIMESTAMP": {"timestamp without time zone"},
    "DATE": {"date"},
    "ROW": {"json", "jsonb"},
    "ARRAY": {"json", "jsonb"},
    "MAP": {"json", "jsonb"},
}


def wanted(col: Column) -> set[str]:
    """The PostgreSQL types that keep a Flink column's values."""
    kind = base_type(col.type)
    if kind in ("DECIMAL", "DEC", "NUMERIC"):
        m = re.search(r"\((\d+)\s*(?:,\s*(\d+))?\)", col.type)
        p, s = (m.group(1), m.group(2) or "0") if m else ("10", "0")
        return {f"numeric({p},{s})"}
    return _KINDS.get(kind, set())


@sink_check(_NAME)
def check(tt: TargetTable, out: TableOutput, ctx: ValidationContext) -> Outcome:
    have = {c.name: c.type for c in tt.columns}
    problems = []
    checked = 0
    for col in columns(out, tt):
        want = wanted(col)
        if not want:
            continue
        checked += 1
        got = have.get(col.name)
        if got is None:
            problems.append(f"{col.name} ({col.type}): not in {tt.table}")
        elif got not in want:
            problems.append(
                f"{col.name}: {col.type} arrived as {got} (want {' or '.join(sorted(want))})"
            )
    return listed_outcome(
        _NAME,
        problems,
        ok=f"all {checked} columns of {tt.output} kept their types in {tt.table}",
        failed=f"{len(problems)} column(s) changed type in {tt.table}",
    )

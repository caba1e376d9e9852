"""What the sink checks share: the target table, its rows in the output's terms, the topic's rows.

The target's rows come from PostgreSQL (``Decimal``, ``datetime``, parsed ``json``);
they are compared with the output's rows through the output's Flink column types
(:class:`ctt.observed.rows.Comparer`). With ``nested: flatten`` the connector's Flatten
transform made ``<row>_<field>`` columns of every ROW; the output's rows are flattened
the same way before they are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ctt.observed.model import (
    Column,
    Outcome,
    TableOutput,
    TargetTable,
    ValidationContext,
    base_type,
)
from ctt.observed.rows import actual_rows, upsert_state
from ctt.sink.envelope import row_fields
from ctt.validate.checks._args import flag
from ctt.validate.checks._data import fail
from ctt.validate.registry import register

DELIMITER = "_"  # ctt.sink.connector.FLATTEN_DELIMITER


def target(ctx: ValidationContext, validation: str) -> TargetTable:
    if ctx.target is None:
        raise fail(ctx, validation, "the test has no `sink:` section (or its connector never ran)")
    return ctx.target


def output(ctx: ValidationContext, tt: TargetTable, validation: str) -> TableOutput:
    out = ctx.outputs.get(tt.output)
    if out is None:
        raise fail(ctx, validation, f"the test wrote no output {tt.output!r}")
    return out


def columns(out: TableOutput, tt: TargetTable) -> list[Column]:
    """The output's columns as the target has them (ROW fields flattened when they were)."""
    if not tt.flattened:
        return list(out.columns)
    cols: list[Column] = []
    for c in out.columns:
        if base_type(c.type) == "ROW":
            for f in row_fields(c.type):
                cols += columns(
                    TableOutput(
                        table="", columns=[Column(name=f"{c.name}{DELIMITER}{f.name}", type=f.type)]
                    ),
                    tt,
                )
        else:
            cols.append(c)
    return cols


def flatten(row: dict[str, Any], tt: TargetTable) -> dict[str, Any]:
    if not tt.flattened:
        return row
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dict):
            for fk, fv in flatten(v, tt).items():
                out[f"{k}{DELIMITER}{fk}"] = fv
        else:
            out[k] = v
    return out


def target_rows(tt: TargetTable) -> list[dict[str, Any]]:
    return [r.row for r in tt.records]


def topic_rows(out: TableOutput, tt: TargetTable) -> list[dict[str, Any]]:
    """The rows a reader of the output topic ends with: last value per key for an upsert sink."""
    rows = upsert_state(out.records, tt.key) if tt.upsert else actual_rows(out)
    return [flatten(r, tt) for r in rows]


Judge = Callable[[TargetTable, TableOutput, ValidationContext], Outcome]


def sink_check(name: str) -> Callable[[Judge], Judge]:
    """Register ``judge(target, output, ctx)`` as check ``name: true`` (``false`` disables it)."""

    def deco(judge: Judge) -> Judge:
        def check(enabled: bool, ctx: ValidationContext) -> Outcome:
            if not enabled:
                return Outcome(name=name, passed=True, summary="disabled")
            tt = target(ctx, name)
            return judge(tt, output(ctx, tt, name), ctx)

        check.__doc__ = judge.__doc__
        register(name, parse=flag)(check)
        return judge

    return deco

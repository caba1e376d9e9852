"""What the assertion validators share: the tables they read, their arguments, their failures.

Assertions read the run, never the SQL under test: an output table is its final
rows (changelog final state for updating outputs, ignored columns left out), a
source table is the records ctt sent (closing and malformed ones excluded).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any, TypeVar

import duckdb
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ctt.errors import ConfigError
from ctt.observed.model import Column, InputRecord, Outcome, ValidationContext
from ctt.observed.rows import Comparer, actual_rows
from ctt.validate.checks._table import render

Row = dict[str, Any]
M = TypeVar("M", bound=BaseModel)
SHOWN = 10  # failing rows shown per assertion


class Args(BaseModel):
    """Base of every assertion's arguments: an unknown key is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_args(cls: type[M], raw: Any) -> M:
    """``cls`` from the spec's value; the first problem as one readable ValueError."""
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].replace("Extra inputs are not permitted", "unknown parameter")
        raise ValueError(f"{where}: {msg}" if where else msg) from None


class Columns(Args):
    """The arguments of unique and not_null: columns of one output, or of every output with them."""

    columns: list[str] = Field(min_length=1)
    table: str | None = Field(None, description="default: every output with these columns")


def columns_arg(raw: Any) -> Columns:
    """``[a, b]``, ``a`` or ``{table: t, columns: [a, b]}``: the forms of unique / not_null."""
    if isinstance(raw, str):
        raw = {"columns": [raw]}
    elif isinstance(raw, list):
        raw = {"columns": raw}
    return parse_args(Columns, raw)


def fail(
    ctx: ValidationContext, validation: str, message: str, hint: str | None = None
) -> ConfigError:
    """A ConfigError at the validation's line in the spec (or without a place, in unit tests)."""
    where = ctx.spec.where(validation) if ctx.spec else {}
    return ConfigError(f"{validation}: {message}", hint=hint, **where)


def sources(ctx: ValidationContext) -> dict[str, list[InputRecord]]:
    out: dict[str, list[InputRecord]] = defaultdict(list)
    for rec in ctx.inputs:
        out[rec.table].append(rec)
    return dict(out)


def sent_rows(records: list[InputRecord]) -> list[Row]:
    return [r.row for r in records if r.row is not None and not r.closing and r.malformed is None]


def output_rows(ctx: ValidationContext, table: str) -> tuple[list[str], list[Row]]:
    """Columns and normalised final rows of an output (processing-time and ignored columns out)."""
    out = ctx.outputs[table]
    cmp = Comparer(out.columns, ignore=out.ignore_columns)
    cols = [c.name for c in out.columns if c.name not in cmp.ignore]
    return cols, [cmp.norm(r) for r in actual_rows(out)]


def table_rows(ctx: ValidationContext, table: str, validation: str) -> tuple[list[str], list[Row]]:
    """An output's final rows, else a source's sent rows (typed by its schema)."""
    if table in ctx.outputs:
        return output_rows(ctx, table)
    src = sources(ctx)
    declared = ctx.spec.test.tables if ctx.spec else {}
    if table in src or table in declared:
        schema = declared[table].schema_ if table in declared else {}
        cmp = Comparer([Column(name=n, type=t) for n, t in schema.items()])
        rows = [cmp.norm(r) for r in sent_rows(src.get(table, []))]
        return list(schema) or sorted({k for r in rows for k in r}), rows
    known = sorted({*ctx.outputs, *src, *declared})
    raise fail(ctx, validation, f"no table {table!r} (known: {', '.join(known)})")


def targets(
    ctx: ValidationContext, table: str | None, columns: list[str], validation: str
) -> list[str]:
    """The outputs an assertion applies to: the named one, else every output with its columns."""
    if table is not None:
        if table not in ctx.outputs:
            raise fail(
                ctx,
                validation,
                f"{table!r} is not an output (outputs: {', '.join(sorted(ctx.outputs))})",
            )
        names = [table]
    else:
        names = [n for n in sorted(ctx.outputs) if set(columns) <= set(output_rows(ctx, n)[0])]
        if not names:
            raise fail(ctx, validation, f"no output has the columns {', '.join(columns)}")
    for name in names:
        cols = output_rows(ctx, name)[0]
        for c in columns:
            if c not in cols:
                raise fail(
                    ctx,
                    validation,
                    f"output {name!r} has no column {c!r} (columns: {', '.join(cols)})",
                )
    return names


def target_rows(
    ctx: ValidationContext, table: str | None, columns: list[str], validation: str
) -> Iterator[tuple[str, list[Row]]]:
    """Each output of :func:`targets` with its normalised final rows."""
    for name in targets(ctx, table, columns, validation):
        yield name, output_rows(ctx, name)[1]


def failing_rows(headers: list[str], rows: list[list[Any]], what: str) -> str:
    """``what`` with a count, then the first rows as a table."""
    return f"{len(rows)} {what}:\n" + render(headers, rows, limit=SHOWN)


def assertion_outcome(
    validation: str,
    failures: int,
    *,
    ok: str,
    failed: str,
    details: str | None,
) -> Outcome:
    """An assertion passes when nothing fails; ``failures`` is its measure (threshold 0)."""
    return Outcome(
        name=validation,
        passed=failures == 0,
        summary=failed if failures else ok,
        measured=float(failures),
        threshold=0.0,
        details=details if failures else None,
    )


def rows_outcome(
    validation: str,
    headers: list[str],
    bad: list[list[Any]],
    what: str,
    *,
    ok: str,
    failed: str,
    failures: int | None = None,
) -> Outcome:
    """:func:`assertion_outcome` of a row assertion: the bad rows (``what``) shown as a table.

    ``failures`` counts what failed when it is not one per row of ``bad``.
    """
    return assertion_outcome(
        validation,
        len(bad) if failures is None else failures,
        ok=ok,
        failed=failed,
        details=failing_rows(headers, bad, what) if bad else None,
    )


def connect(ctx: ValidationContext, validation: str) -> duckdb.DuckDBPyConnection:
    """DuckDB with one table per source (the oracle's ground truth) and one per output (final rows).

    Source tables carry the oracle's ``_ctt_*`` columns (event time, late mark, partition, ...).
    """
    from ctt.oracle._truth import GroundTruth, duck_type, quote

    if ctx.spec is None:
        raise fail(ctx, validation, "needs the spec's tables (run it through `ctt run`)")
    gt = GroundTruth(ctx.spec.test, sources(ctx), set(ctx.outputs))
    con = gt.con
    for name, out in ctx.outputs.items():
        cols, rows = output_rows(ctx, name)
        types = {c.name: c.type for c in out.columns}
        ddl = ", ".join(f"{quote(c)} {duck_type(types[c])}" for c in cols)
        con.execute(f"CREATE OR REPLACE TABLE {quote(name)} ({ddl})")
        if rows and cols:
            marks = ", ".join("?" for _ in cols)
            con.executemany(
                f"INSERT INTO {quote(name)} VALUES ({marks})",
                [[_duck_value(r.get(c)) for c in cols] for r in rows],
            )
    return con


def _duck_value(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return orjson.dumps(v).decode()
    return v

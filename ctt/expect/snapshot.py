"""Snapshot expectations: a test's output recorded once, reviewed, committed, compared on every run.

Generated data is seeded, so the same spec produces the same output; a snapshot
pins that output independently of the SQL under test (the oracle recomputes the
SQL's bugs, a snapshot does not). The shape follows insta (`cargo insta review`),
sqllogictest (`--override`) and testdrive (`--rewrite-results`): the file sits
beside the spec, is rewritten only on request, and never in CI.

File: ``<spec dir>/__snapshots__/<spec stem>/<test>.snap`` (YAML; not ``.yaml`` so
spec discovery does not take it for a spec). It holds what must not drift: the
final rows of every output (changelog final state for updating outputs), sorted
by key, one row a line; the records sent and late per source; Flink's late-drop
count. Never timings; processing-time and ignored columns are left out.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from ctt.config.yaml_source import safe_load
from ctt.errors import ConfigError, UsageError
from ctt.observed.model import Column, SnapshotRef, TableOutput, ValidationContext
from ctt.observed.rows import Comparer, Match, actual_rows, render_diff

Row = dict[str, Any]
SUFFIX = ".snap"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


class InputCounts(BaseModel):
    sent: int = Field(description="records ctt produced (closing and malformed ones excluded)")
    late: int = 0


class TableSnapshot(BaseModel):
    columns: dict[str, str] = Field(description="column -> Flink type, in output order")
    key: list[str] = Field(default_factory=list, description="the columns rows are sorted by")
    rows: list[Row] = Field(default_factory=list)


class Snapshot(BaseModel):
    """Everything about one test's run that must not drift between runs of the same spec."""

    test: str
    inputs: dict[str, InputCounts] = Field(default_factory=dict)
    late_dropped: int | None = Field(None, description="Flink's numLateRecordsDropped")
    outputs: dict[str, TableSnapshot] = Field(default_factory=dict)


# -- formatting -------------------------------------------------------------------------------


def scalar(value: Any) -> str:
    """One value as a YAML flow scalar that reads back as the same value, the same way every time."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, datetime):
        return json.dumps(value.isoformat(sep=" "))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, str):
        return _printable(json.dumps(value, ensure_ascii=False))
    # nested rows, arrays, decimals from odd sources: JSON is a YAML flow subset
    return _printable(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def _printable(text: str) -> str:
    """Escape what YAML does not allow raw (DEL, NEL, BOM, ...); readable text stays as is."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        for c in text
    )


def _float(x: float) -> str:
    """12 significant digits (hides summation-order noise), always with a dot so YAML keeps a float."""
    if math.isnan(x):
        return ".nan"
    if math.isinf(x):
        return ".inf" if x > 0 else "-.inf"
    text = repr(float(f"{x:.12g}"))
    mant, _, exp = text.partition("e")
    if "." not in mant:
        mant += ".0"
    return f"{mant}e{exp}" if exp else mant


def _key(name: str) -> str:
    return name if _PLAIN_KEY.match(name) and name.lower() not in _YAML_WORDS else json.dumps(name)


def _flow(items: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{_key(k)}: {scalar(v)}" for k, v in items.items()) + "}"


def _sort_key(row: Row, order: Sequence[str]) -> tuple[tuple[int, Any], ...]:
    """Typed, total order: NULL first, then numbers numerically, then everything else as text."""
    out: list[tuple[int, Any]] = []
    for c in order:
        v = row.get(c)
        if v is None:
            out.append((0, 0))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append((1, -math.inf if math.isnan(v) else v))
        else:
            out.append((2, scalar(v)))
    return tuple(out)


def sort_rows(rows: list[Row], key: Sequence[str], columns: Sequence[str]) -> list[Row]:
    order = [*key, *[c for c in columns if c not in key]]
    extra = sorted({k for r in rows for k in r} - set(order))
    return sorted(rows, key=lambda r: _sort_key(r, [*order, *extra]))


def header(test: str, command: str) -> str:
    return (
        f"# ctt snapshot of test `{test}`: its output from a real Flink run over the spec's\n"
        "# seeded data. It is compared on every run; review changes to it like code.\n"
        f"# Update: {command}\n"
    )


def dumps(snap: Snapshot, *, command: str) -> str:
    """The file's text: header, then YAML with one row a line and keys in column order."""
    lines = [header(snap.test, command).rstrip("\n"), f"test: {scalar(snap.test)}"]
    if snap.inputs:
        lines.append("inputs:")
        for name in sorted(snap.inputs):
            lines.append(f"  {_key(name)}: {_flow(snap.inputs[name].model_dump())}")
    if snap.late_dropped is not None:
        lines.append(f"late_dropped: {snap.late_dropped}")
    lines.append("outputs:" if snap.outputs else "outputs: {}")
    for name in sorted(snap.outputs):
        t = snap.outputs[name]
        cols = list(t.columns)
        lines.append(f"  {_key(name)}:")
        lines.append(f"    columns: {_flow(t.columns)}")
        lines.append(f"    key: [{', '.join(_key(k) for k in t.key)}]")
        if not t.rows:
            lines.append("    rows: []")
            continue
        lines.append(f"    rows:  # {len(t.rows)}")
        for row in sort_rows(t.rows, t.key, cols):
            ordered = {c: row[c] for c in cols if c in row}
            ordered.update({k: row[k] for k in sorted(row) if k not in ordered})
            lines.append(f"    - {_flow(ordered)}")
    return "\n".join(lines) + "\n"


def loads(text: str, *, file: str | None = None) -> Snapshot:
    try:
        data = safe_load(text)
        return Snapshot.model_validate(data)
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(
            f"not a ctt snapshot: {str(exc).splitlines()[0]}",
            file=file,
            hint="re-record it with --update-snapshots",
        ) from None


def load(path: Path) -> Snapshot | None:
    """The snapshot at ``path``, or None when there is none."""
    if not path.is_file():
        return None
    return loads(path.read_text(encoding="utf-8"), file=str(path))


def write(path: Path, snap: Snapshot, *, command: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(snap, command=command), encoding="utf-8")


def canonical(snap: Snapshot) -> Snapshot:
    """What reading the written file back gives: the form every comparison uses."""
    return loads(dumps(snap, command=""))


# -- capturing a run ---------------------------------------------------------------------------


def _kept_columns(out: TableOutput) -> list[Column]:
    cmp = Comparer(out.columns, ignore=out.ignore_columns)
    return [c for c in out.columns if c.name not in cmp.ignore]


def capture(ctx: ValidationContext) -> Snapshot:
    """The run's snapshot: final rows per output (typed, ignored columns dropped), input counts."""
    inputs: dict[str, InputCounts] = {}
    for rec in ctx.inputs:
        if rec.closing or rec.malformed is not None or rec.row is None:
            continue
        c = inputs.setdefault(rec.table, InputCounts(sent=0))
        c.sent += 1
        c.late += int(rec.late)
    outputs = {}
    for name, out in ctx.outputs.items():
        cmp = Comparer(out.columns, tolerance=out.tolerance, ignore=out.ignore_columns)
        cols = _kept_columns(out)
        key = [k for k in out.identity() if k not in cmp.ignore]
        outputs[name] = TableSnapshot(
            columns={c.name: c.type for c in cols},
            key=key,
            rows=[cmp.norm(r) for r in actual_rows(out)],
        )
    late = ctx.metrics.late_records_dropped if any(c.late for c in inputs.values()) else None
    return canonical(Snapshot(test=ctx.test, inputs=inputs, late_dropped=late, outputs=outputs))


# -- comparing -----------------------------------------------------------------------------------


class SnapshotDiff(BaseModel):
    """What differs between the recorded snapshot and this run, per output and overall."""

    problems: list[str] = Field(default_factory=list, description="outputs and columns")
    tables: dict[str, Match] = Field(default_factory=dict)
    counts: list[str] = Field(default_factory=list, description="input counts, late drops")

    @property
    def clean(self) -> bool:
        return (
            not self.problems and not self.counts and all(m.perfect for m in self.tables.values())
        )

    def render(self, *, limit: int = 20) -> str:
        """Rows first (what a reviewer reads), then the counts that moved."""
        parts = list(self.problems)
        for name, m in self.tables.items():
            if not m.perfect:
                parts.append(f"{name}: {render_diff(m, limit=limit)}")
        return "\n".join(parts + self.counts)


def compare(
    expected: Snapshot, actual: Snapshot, *, tolerance: Mapping[str, float] | None = None
) -> SnapshotDiff:
    """Row diff by key per output (``~`` changed, ``-`` missing, ``+`` new), then the counts."""
    diff = SnapshotDiff()
    tol = tolerance or {}
    for name in sorted(expected.outputs.keys() | actual.outputs.keys()):
        want, got = expected.outputs.get(name), actual.outputs.get(name)
        if want is None:
            diff.problems.append(f"{name}: output not in the snapshot (new output?)")
            continue
        if got is None:
            diff.problems.append(f"{name}: in the snapshot, not written by this run")
            continue
        if want.columns != got.columns:
            diff.problems.append(f"{name}: columns {_flow(want.columns)} -> {_flow(got.columns)}")
        cols = [Column(name=n, type=t) for n, t in {**want.columns, **got.columns}.items()]
        m = Comparer(cols, tolerance=tol.get(name, 1e-9)).match(want.rows, got.rows)
        names = list(want.columns)
        diff.tables[name] = m.model_copy(
            update={
                "missing": sort_rows(m.missing, want.key, names),
                "unexpected": sort_rows(m.unexpected, want.key, names),
            }
        )
    for name in sorted(expected.inputs.keys() | actual.inputs.keys()):
        a, b = expected.inputs.get(name), actual.inputs.get(name)
        if a != b:
            diff.counts.append(
                f"inputs.{name}: {_flow(a.model_dump()) if a else '(none)'} recorded, "
                f"{_flow(b.model_dump()) if b else '(none)'} sent now (did the data generator change?)"
            )
    if expected.late_dropped != actual.late_dropped:
        diff.counts.append(
            f"late_dropped: {expected.late_dropped} recorded, Flink dropped {actual.late_dropped}"
        )
    return diff


# -- policy ----------------------------------------------------------------------------------------


class Mode(StrEnum):
    CHECK = "check"  # compare; a missing snapshot fails with the command that records it
    UPDATE = "update"  # write new or changed snapshots


class Policy(BaseModel):
    """How this run treats snapshots: ``ctt run --update-snapshots`` / ``--ci`` / ``CI=true``."""

    mode: Mode = Mode.CHECK
    ci: bool = False

    @classmethod
    def resolve(
        cls, *, update: bool = False, ci: bool | None = None, env: Mapping[str, str] | None = None
    ) -> Policy:
        """CI is ``ci=True`` or a ``CI`` variable of true/1/yes; writing there is a usage error."""
        environ = os.environ if env is None else env
        in_ci = ci if ci else environ.get("CI", "").strip().lower() in ("true", "1", "yes")
        if update and in_ci:
            raise UsageError(
                "--update-snapshots is refused in CI: snapshots are recorded locally, "
                "reviewed and committed",
                hint="run it on your machine without CI set, then commit the .snap files",
            )
        return cls(mode=Mode.UPDATE if update else Mode.CHECK, ci=in_ci)


def path_for(spec_file: Path, test: str) -> Path:
    return spec_file.parent / "__snapshots__" / spec_file.stem / f"{test}{SUFFIX}"


def command_for(spec_file: Path, test: str, *, several: bool) -> str:
    """The exact command that records this test's snapshot (``-k`` when the file has several)."""
    try:
        shown = str(spec_file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(spec_file)
    return f"ctt run {shown}" + (f" -k {test}" if several else "") + " --update-snapshots"


class Verdict(BaseModel):
    passed: bool
    summary: str
    details: str | None = None
    written: bool = False


def check(ref: SnapshotRef, ctx: ValidationContext) -> Verdict:
    """Compare with the recorded snapshot, or (update mode, never in CI) record it."""
    actual = capture(ctx)
    recorded = load(ref.path)
    tolerance = {n: o.tolerance for n, o in ctx.outputs.items()}
    rows = sum(len(t.rows) for t in actual.outputs.values())
    if ref.update and not ref.ci:
        if recorded is not None and compare(recorded, actual, tolerance=tolerance).clean:
            return Verdict(passed=True, summary=f"snapshot unchanged ({rows} rows)")
        write(ref.path, actual, command=ref.command)
        verb = "written" if recorded is None else "rewritten"
        return Verdict(
            passed=True,
            summary=f"snapshot {verb}: {ref.path} ({rows} rows); review and commit it",
            written=True,
        )
    if recorded is None:
        return Verdict(
            passed=False,
            summary=f"no snapshot at {ref.path}; record it with: {ref.command}",
            details=(
                "snapshots are never written in CI: record locally, review, commit"
                if ref.ci
                else "ctt does not record snapshots unasked: run the command, review, commit"
            ),
        )
    diff = compare(recorded, actual, tolerance=tolerance)
    if diff.clean:
        return Verdict(passed=True, summary=f"matches the snapshot ({rows} rows)")
    return Verdict(
        passed=False,
        summary=f"differs from the snapshot {ref.path.name} (--update-snapshots if intended)",
        details=diff.render() + f"\nif the change is intended: {ref.command}",
    )


__all__ = [
    "SUFFIX",
    "InputCounts",
    "Mode",
    "Policy",
    "Snapshot",
    "SnapshotDiff",
    "TableSnapshot",
    "Verdict",
    "canonical",
    "capture",
    "check",
    "command_for",
    "compare",
    "dumps",
    "load",
    "loads",
    "path_for",
    "write",
]

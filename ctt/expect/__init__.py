"""Where a test's expected output comes from, decided per output table before validating.

Kinds, strongest first: explicit ``rows`` (written by a person), a ``snapshot``
(a reviewed, committed run), ``reference_sql`` (a second implementation in
DuckDB) and the oracle (the test's own SQL translated to DuckDB: it proves the
engine and the watermark settings, not the SQL). Assertions (``unique``,
``sql_assertions``, ...) hold whatever the SQL says. A test whose only
expectation is the oracle gets a warning. :func:`plan` is pure: the runner
calls it with the loaded test, its outputs and the run's snapshot policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ctt.config.spec import LoadedTest
from ctt.expect.snapshot import Mode, Policy, command_for, path_for
from ctt.observed.model import SnapshotRef, SpecRef

ASSERTIONS = frozenset(
    {
        "unique",
        "not_null",
        "accepted_values",
        "relationships",
        "row_count",
        "row_count_relation",
        "sql_assertions",
    }
)
SNAPSHOT_CHECK = "snapshot_match"


class Kind(StrEnum):
    ROWS = "rows"
    SNAPSHOT = "snapshot"
    REFERENCE_SQL = "reference_sql"
    ORACLE = "oracle"


class ExpectationPlan(BaseModel):
    """What the runner adds to a test's validation: the kinds per output, checks, warnings."""

    kinds: dict[str, list[Kind]] = Field(default_factory=dict, description="output -> kinds")
    assertions: list[str] = Field(default_factory=list)
    spec: SpecRef
    snapshot: SnapshotRef | None = None
    validations: list[dict[str, Any]] = Field(
        default_factory=list, description="checks to run besides the spec's own `validation:`"
    )
    warnings: list[str] = Field(default_factory=list)


def oracle_only_warning(test: str, command: str) -> str:
    return (
        f"`{test}`: its only expectation is the oracle, computed from the test's own SQL: "
        f"it proves the engine, not the SQL; add a snapshot (`{command}`), explicit rows "
        "or assertions"
    )


def plan(
    lt: LoadedTest,
    outputs: Iterable[str],
    policy: Policy | None = None,
    *,
    exists: Callable[[Path], bool] = Path.is_file,
) -> ExpectationPlan:
    """Decide, per output, which expectations apply, and whether the snapshot is checked or written.

    A snapshot applies with ``snapshot: true``, a listed ``snapshot_match``, an existing
    snapshot file, or ``--update-snapshots`` on a test with generated data; never with
    ``snapshot: false``.
    """
    policy = policy or Policy()
    test = lt.test
    loc = ("flink_transformation_tests", test.name)
    names = [next(iter(v)) for v in test.validation]
    lines: dict[str, int] = {}
    for i, n in enumerate(names):
        line = lt.source_map.line_of((*loc, "validation", i))
        if line is not None:
            lines.setdefault(n, line)
    spec = SpecRef(test=test, file=lt.file, lines=lines)
    several = sum(1 for k in lt.source_map.lines if len(k) == 2 and k[0] == loc[0]) > 1
    path = path_for(lt.file, test.name)
    command = command_for(lt.file, test.name, several=several)
    listed = SNAPSHOT_CHECK in names
    if test.snapshot is False:
        wanted = False
    else:
        wanted = (
            bool(test.snapshot)
            or listed
            or exists(path)
            or (policy.mode is Mode.UPDATE and bool(test.generated_data()))
        )
    ref = (
        SnapshotRef(path=path, command=command, update=policy.mode is Mode.UPDATE, ci=policy.ci)
        if wanted
        else None
    )
    generated = bool(test.generated_data())
    kinds: dict[str, list[Kind]] = {}
    for out in sorted(set(outputs)):
        exp = test.expected.get(out)
        k: list[Kind] = []
        if exp is not None and exp.rows is not None:
            k.append(Kind.ROWS)
        elif exp is not None and exp.reference_sql:
            k.append(Kind.REFERENCE_SQL)
        elif generated:
            k.append(Kind.ORACLE)
        if ref is not None:
            k.append(Kind.SNAPSHOT)
        kinds[out] = k
    assertions = [n for n in names if n in ASSERTIONS]
    warnings = []
    every = [k for ks in kinds.values() for k in ks]
    # a test of an expected job failure checks the failure, not the rows the oracle predicts
    fails = "job_fails_as_expected" in names
    if every and set(every) == {Kind.ORACLE} and not assertions and not fails:
        warnings.append(oracle_only_warning(test.name, command))
    return ExpectationPlan(
        kinds=kinds,
        assertions=assertions,
        spec=spec,
        snapshot=ref,
        validations=[{SNAPSHOT_CHECK: True}] if ref is not None and not listed else [],
        warnings=warnings,
    )


__all__ = ["ASSERTIONS", "ExpectationPlan", "Kind", "Policy", "oracle_only_warning", "plan"]

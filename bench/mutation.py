"""Sensitivity and stability of the shipped window and join specs against the oracle.

    uv run python bench/mutation.py                 # mutants: each must fail validation
    uv run python bench/mutation.py --stability 10  # each spec N runs in a row: flaky count

Mutants change what Flink runs while the expectation stays the original one (the oracle
is evaluated on the original SQL and watermark, over the data the mutant really read):

- ``window_size``: the window's size (or session gap) doubled, everywhere it is written;
- ``join_type``: ``JOIN`` <-> ``LEFT JOIN``;
- ``filter_boundary``: the first numeric comparison moved by one, or an interval-join
  bound shortened to a third;
- ``watermark_delay``: the source's watermark delay set to 20 minutes (specs with late data
  and an event-time operator: windows, event-time deduplication).

A mutant is *caught* when its test fails validation (a Flink error does not count).
Results go to the "Oracle: sensitivity and stability" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ctt.oracle as oracle
from bench._common import machine, replace_section
from ctt.config.spec import LoadedTest, Watermark, discover, load_spec
from ctt.flinktest.runner import FlinkTestRunner
from ctt.report.model import Status
from ctt.validate.base import InputRecord

ROOT = Path(__file__).resolve().parents[1]
SPECS = [ROOT / "specs" / "windows", ROOT / "specs" / "joins"]
_WINDOW = re.compile(r"\b(TUMBLE|HOP|CUMULATE|SESSION)\s*\(", re.I)
_INTERVAL = re.compile(r"INTERVAL\s*'(\d+)'\s*(\w+)", re.I)

Mutant = tuple[str, LoadedTest]


def _window_size(sql: str) -> str | None:
    hit = _WINDOW.search(sql)
    if not hit:
        return None
    depth, i = 0, hit.end() - 1
    for i in range(hit.end() - 1, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[i], 0)
        if depth == 0:
            break
    intervals = list(_INTERVAL.finditer(sql, hit.end(), i))
    if not intervals:
        return None
    last = intervals[-1]
    doubled = f"INTERVAL '{int(last.group(1)) * 2}' {last.group(2)}"
    return sql.replace(last.group(0), doubled)


def _join_type(sql: str) -> str | None:
    if re.search(r"\bLEFT\s+(OUTER\s+)?JOIN\b", sql, re.I):
        return re.sub(r"\bLEFT\s+(OUTER\s+)?JOIN\b", "JOIN", sql, count=1, flags=re.I)
    if re.search(r"\bJOIN\b", sql, re.I):
        return re.sub(r"\bJOIN\b", "LEFT JOIN", sql, count=1, flags=re.I)
    return None


def _filter_boundary(sql: str) -> str | None:
    between = re.search(r"BETWEEN[^;]*?INTERVAL\s*'(\d+)'", sql, re.I | re.S)
    if between:
        n = int(between.group(1))
        s, e = between.span(1)
        return sql[:s] + str(max(1, n // 3)) + sql[e:]
    where = re.search(r"\bWHERE\b", sql, re.I)
    if where is None:
        return None
    cmp = re.compile(r"(?<![<>=!])(>=|<=|<>|>|<|=)\s*(\d+)\b(?!\s*')").search(sql, where.end())
    if cmp:
        s, e = cmp.span(2)
        return sql[:s] + str(int(cmp.group(2)) + 1) + sql[e:]
    return None


SQL_MUTATORS: dict[str, Callable[[str], str | None]] = {
    "window_size": _window_size,
    "join_type": _join_type,
    "filter_boundary": _filter_boundary,
}


def _has_late_data(lt: LoadedTest) -> bool:
    return any(cfg.late_data_percentage > 0 for cfg in lt.test.generated_data().values())


def mutants(lt: LoadedTest) -> list[Mutant]:
    out: list[Mutant] = []
    sql = lt.test.flink_sql or ""
    for name, fn in SQL_MUTATORS.items():
        mutated = fn(sql)
        if mutated is not None and mutated != sql:
            test = lt.test.model_copy(update={"flink_sql": mutated}, deep=True)
            out.append((name, lt.model_copy(update={"test": test})))
    times = [t.watermark.column for t in lt.test.tables.values() if t.watermark]
    event_time_op = bool(_WINDOW.search(sql)) or any(
        re.search(rf"ORDER\s+BY\s+{re.escape(c)}\b", sql, re.I) for c in times
    )
    if _has_late_data(lt) and event_time_op:
        test = lt.test.model_copy(deep=True)
        for t in test.tables.values():
            if t.watermark is not None and not t.versioned:
                t.watermark = Watermark(column=t.watermark.column, delay=1200.0)
        out.append(("watermark_delay", lt.model_copy(update={"test": test})))
    return out


class OriginalExpectation:
    """Patch ``ctt.oracle.compute_expected``: the oracle sees the original test and SQL."""

    def __init__(self) -> None:
        self.real = oracle.compute_expected
        self.original: dict[str, LoadedTest] = {}

    def __call__(self, test: Any, table: str, *, sql: str, columns: Any, inputs: Any) -> Any:
        orig = self.original.get(test.name)
        if orig is None:
            return self.real(test, table, sql=sql, columns=columns, inputs=inputs)
        delays = {
            n: round(t.watermark.delay * 1000) if t.watermark else None
            for n, t in orig.test.tables.items()
        }
        fixed = {
            n: [
                InputRecord.model_construct(
                    **{**r.__dict__, "watermark_delay_ms": delays.get(n, r.watermark_delay_ms)}
                )
                for r in recs
            ]
            for n, recs in inputs.items()
        }
        return self.real(
            orig.test, table, sql=orig.test.flink_sql or sql, columns=columns, inputs=fixed
        )


def load() -> list[LoadedTest]:
    return [lt for p in discover(SPECS) for lt in load_spec(p)]


def run_mutation(runner: FlinkTestRunner, tests: list[LoadedTest]) -> str:
    patch = OriginalExpectation()
    oracle.compute_expected = patch  # type: ignore[assignment]
    rows, caught, total, errors = [], 0, 0, 0
    try:
        plan: list[tuple[str, str, LoadedTest]] = []
        for lt in tests:
            for kind, mut in mutants(lt):
                mut.test.name = f"{lt.test.name}__{kind}"
                patch.original[mut.test.name] = lt
                plan.append((lt.id, kind, mut))
        report = runner.run([m for _, _, m in plan])
        for (spec_id, kind, _m), res in zip(plan, report.tests, strict=True):
            if res.status is Status.ERROR:
                errors += 1
                verdict = f"error: {(res.message or '')[:70]}"
            else:
                total += 1
                hit = res.status is Status.FAILED
                caught += hit
                failing = [o.name for o in res.outcomes if not o.passed]
                verdict = "caught by " + ", ".join(failing) if hit else "**survived**"
            rows.append(f"| {spec_id} | {kind} | {verdict} |")
            print(rows[-1], flush=True)
    finally:
        oracle.compute_expected = patch.real
    share = caught / total if total else 0.0
    return "\n".join(
        [
            f"Mutants caught: **{caught} of {total} ({share:.0%})**"
            + (f"; {errors} mutant(s) Flink rejected (not counted)" if errors else ""),
            "",
            "| spec::test | mutation | result |",
            "|---|---|---|",
            *rows,
        ]
    )


def run_stability(runner: FlinkTestRunner, tests: list[LoadedTest], rounds: int) -> str:
    fails: dict[str, int] = {lt.id: 0 for lt in tests}
    durations: dict[str, list[float]] = {lt.id: [] for lt in tests}
    for i in range(rounds):
        report = runner.run(tests)
        for lt, res in zip(tests, report.tests, strict=True):
            durations[lt.id].append(res.duration_s or 0.0)
            if res.status is not Status.PASSED:
                fails[lt.id] += 1
                print(f"round {i + 1}: {lt.id} {res.status.value}: {res.message}", flush=True)
        print(f"round {i + 1}/{rounds} done", flush=True)
    flaky = sum(1 for n in fails.values() if n)
    rows = [
        f"| {k} | {rounds - n}/{rounds} | {max(durations[k]):.1f} s |" for k, n in fails.items()
    ]
    return "\n".join(
        [
            f"{len(tests)} tests x {rounds} runs: **{flaky} flaky** (any failure counts).",
            "",
            "| spec::test | passed | slowest run |",
            "|---|---:|---:|",
            *rows,
        ]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stability", type=int, default=0, metavar="N", help="runs per spec")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from ctt.stack.supervisor import LocalStack

    state, _started = LocalStack().up()
    runner = FlinkTestRunner(state, parallel=args.parallel)
    tests = load()
    t0 = time.monotonic()
    if args.stability:
        body = run_stability(runner, tests, args.stability)
        head, cmd = (
            "Oracle specs: stability",
            f"uv run python bench/mutation.py --stability {args.stability}",
        )
    else:
        body = run_mutation(runner, tests)
        head, cmd = "Oracle specs: mutation sensitivity", "uv run python bench/mutation.py"
    body += f"\n\nWall time {time.monotonic() - t0:.0f} s with {args.parallel} tests in parallel."
    print(body)
    if not args.no_write:
        replace_section(head, body, cmd, machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())

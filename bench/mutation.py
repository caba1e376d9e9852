"""How strong the shipped specs' expectations are, measured as a user measures them: `ctt mutate`.

    uv run python bench/mutation.py                        # every spec under specs/
    uv run python bench/mutation.py specs/windows -p 2     # some specs
    uv run python bench/mutation.py --stability 10         # each spec N runs in a row: flaky count

The benchmark is the command: it runs ``python -m ctt mutate SPECS --json`` in a subprocess,
exactly as a user or a CI job would, and writes the per-spec and total scores, the mutant
counts and the wall time into docs/benchmarks.md ("Mutation testing (ctt mutate)"). Each
mutant is the spec with one SQL (or watermark) edit, run by the real ``ctt run``; the
expectations are whatever the spec defines, so an oracle spec that recomputes its expectation
from the mutated SQL lets the mutant survive. (The old figure, "26 of 26 caught", held the
oracle on the unmutated SQL: a user's edited file is never checked that way.)

``--stability N`` runs ``python -m ctt run`` over the specs N times and counts the tests
that failed at least once (the "Oracle specs: stability" section).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench._common import DOC, machine, replace_section

ROOT = Path(__file__).resolve().parents[1]
HEAD = "Mutation testing (ctt mutate): user-workflow score"
OLD_HEAD = "Oracle specs: mutation sensitivity"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctt", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=sys.stderr,  # the command's progress lines, live
        text=True,
        check=False,
    )


def _pct(score: float | None) -> str:
    return "-" if score is None else f"{score:.0f}%"


def run_mutation(specs: list[str], parallel: int, extra: list[str]) -> str:
    t0 = time.monotonic()
    res = _cli("mutate", *specs, "--parallel", str(parallel), "--json", *extra)
    wall = time.monotonic() - t0
    if not res.stdout.strip():
        raise SystemExit(f"ctt mutate exited {res.returncode} without a report")
    report: dict[str, Any] = json.loads(res.stdout)
    total = report["total"]
    runs = total["mutants"]
    rows = [
        f"| {s['spec']} | {s['mutants']} | {s['killed']} | {s['survived']} | {s['errored']} "
        f"| {s['timeout']} | {s.get('equivalent', 0)} | {_pct(s['score'])} |"
        for s in report["specs"]
    ]
    t = total
    rows.append(
        f"| **total** | {t['mutants']} | {t['killed']} | {t['survived']} | {t['errored']} "
        f"| {t['timeout']} | {t.get('equivalent', 0)} | **{_pct(t['score'])}** |"
    )

    def listed(status: str, why: bool = False) -> list[str]:
        return [
            f"- `{r['mutant']['description']}`"
            + (f": {r['detail']}" if why and r["detail"] else "")
            for s in report["specs"]
            for r in s["results"]
            if r["status"] == status
        ]

    survivors = listed("survived")
    equivalent = listed("equivalent", why=True)
    errored = listed("errored", why=True) + listed("timeout", why=True)
    per_mutant = sum(r["duration_s"] for s in report["specs"] for r in s["results"])
    lines = [
        f"Total: **{total['killed']} killed, {total['survived']} survived "
        f"(score {_pct(total['score'])})**, {total['errored']} errored, {total['timeout']} "
        f"timed out and {total.get('equivalent', 0)} equivalent (not scored), {runs} mutants in "
        f"{len(report['specs'])} spec(s).",
        "",
        "| spec | mutants | killed | survived | errored | timeout | equivalent | score |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Wall time {wall:.0f} s with {parallel} `ctt run` at once (baselines included); "
        + (f"{per_mutant / runs:.1f} s per mutant run on average." if runs else "no mutant ran."),
    ]
    if survivors:
        lines += ["", "Survivors (edits no test noticed):", "", *survivors]
    if equivalent:
        lines += ["", "Equivalent (survived; the spec's `x-ctt-mutate` says why):", "", *equivalent]
    if errored:
        lines += ["", "Errored or timed out (no verdict):", "", *errored]
    return "\n".join(lines)


def run_stability(specs: list[str], rounds: int, parallel: int) -> str:
    fails: dict[str, int] = {}
    slowest: dict[str, float] = {}
    t0 = time.monotonic()
    for i in range(rounds):
        res = _cli("run", *specs, "--parallel", str(parallel), "--json")
        report = json.loads(res.stdout) if res.stdout.strip() else {"tests": []}
        for t in report["tests"]:
            key = f"{Path(t['file']).stem}::{t['name']}"
            fails.setdefault(key, 0)
            slowest[key] = max(slowest.get(key, 0.0), t.get("duration_s") or 0.0)
            if t["status"] != "passed":
                fails[key] += 1
                print(f"round {i + 1}: {key} {t['status']}: {t.get('message')}", flush=True)
        print(f"round {i + 1}/{rounds} done", flush=True)
    flaky = sum(1 for n in fails.values() if n)
    rows = [f"| {k} | {rounds - n}/{rounds} | {slowest[k]:.1f} s |" for k, n in fails.items()]
    return "\n".join(
        [
            f"{len(fails)} tests x {rounds} runs: **{flaky} flaky** (any failure counts).",
            "",
            "| spec::test | passed | slowest run |",
            "|---|---:|---:|",
            *rows,
            "",
            f"Wall time {time.monotonic() - t0:.0f} s with {parallel} tests in parallel.",
        ]
    )


def _retitle_old_section() -> None:
    """The old oracle-only section becomes this one (same place in the document)."""
    if DOC.exists():
        text = DOC.read_text(encoding="utf-8")
        text = re.sub(rf"^## {re.escape(OLD_HEAD)}$", f"## {HEAD}", text, flags=re.M)
        DOC.write_text(text, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", default=["specs"], help="spec files or directories")
    ap.add_argument("--parallel", "-p", type=int, default=2)
    ap.add_argument("--stability", type=int, default=0, metavar="N", help="runs per spec")
    ap.add_argument("--operator", action="append", default=[], help="passed to ctt mutate")
    ap.add_argument("--max-mutants", type=int, default=None, help="passed to ctt mutate")
    ap.add_argument("--report", default=None, help="also write the report (ctt mutate --output)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    shown = " ".join(args.specs) if args.specs != ["specs"] else ""
    if args.stability:
        body = run_stability(args.specs, args.stability, args.parallel)
        head = "Oracle specs: stability"
        cmd = f"uv run python bench/mutation.py --stability {args.stability} {shown}".strip()
    else:
        extra = [x for op in args.operator for x in ("--operator", op)]
        if args.max_mutants:
            extra += ["--max-mutants", str(args.max_mutants)]
        report = ["--output", args.report] if args.report else []
        body = run_mutation(args.specs, args.parallel, [*extra, *report])
        head = HEAD
        cmd = " ".join(["uv run python bench/mutation.py", *extra, shown]).strip()
        body = (
            "Each mutant is one spec with one SQL or watermark edit, run by the real `ctt run` "
            "in a temporary copy (`ctt mutate`); killed = a test failed, survived = every test "
            "passed with the bug in place. Score = killed / (killed + survived); errored, timed "
            "out and equivalent mutants are not scored.\n\n" + body
        )
    print(body)
    if not args.no_write:
        if head == HEAD:
            _retitle_old_section()
        replace_section(head, body, cmd, machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())

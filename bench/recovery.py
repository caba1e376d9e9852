"""Recovery scenarios, N runs in a row, through the CLI exactly as a user runs them.

    CTT_STATE_DIR=/tmp/mine uv run python bench/recovery.py [--runs 10] [SPEC ...] [--no-write]

Each spec file (default: every ``isolated-specs/recovery/*.yaml`` with a ``recovery:`` scenario)
runs ``uv run --frozen ctt run SPEC --results ...`` ``--runs`` times in a row on the stack of
``CTT_STATE_DIR`` (the scenarios kill its TaskManager and JobManager: never a shared stack).
From each run's results JSON it keeps, per test: the verdict, the ``recovery`` outcome's lost,
duplicated and recovery seconds, and the 1-minute load average around the run. Writes
"Recovery scenarios, N runs in a row" in docs/benchmarks.md after every run, so a series cut
short still leaves what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench._common import machine, replace_section, run_cli

ROOT = Path(__file__).resolve().parents[1]
HEAD = "Recovery scenarios, 10 runs in a row (bench/recovery.py)"
SPECS = [
    "isolated-specs/recovery/restart_jobmanager.yaml",
    "isolated-specs/recovery/savepoint_resume.yaml",
    "isolated-specs/recovery/savepoint_resume_changed.yaml",
    "isolated-specs/recovery/kill_taskmanager.yaml",
]


@dataclass
class Series:
    spec: str
    test: str
    scenario: str = "?"
    passed: int = 0
    runs: int = 0
    lost: list[int] = field(default_factory=list)
    duplicated: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _run(spec: str, results: Path) -> tuple[int, float, dict[str, object]]:
    proc, wall = run_cli(["uv", "run", "--frozen", "ctt", "run", spec, "--results", str(results)])
    try:
        doc: dict[str, object] = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        doc = {"error": tail[-1] if tail else f"exit {proc.returncode}"}
    results.unlink(missing_ok=True)
    return proc.returncode, wall, doc


def _record(series: dict[str, Series], spec: str, run: int, doc: dict[str, object]) -> None:
    tests = doc.get("tests")
    if not isinstance(tests, list):
        for s in (s for s in series.values() if s.spec == spec):
            s.runs += 1
            s.failures.append(f"run {run}: {doc.get('error')}")
        return
    for t in tests:
        s = series.setdefault(f"{spec}::{t['name']}", Series(spec=spec, test=t["name"]))
        s.runs += 1
        props: dict[str, str] = next(
            (o["properties"] for o in t["outcomes"] if o["name"] == "recovery"), {}
        )
        s.scenario = props.get("recovery_scenario", s.scenario)
        if t["status"] == "passed":
            s.passed += 1
        else:
            msg = " ".join((t.get("message") or t["status"]).split())[:240]
            s.failures.append(f"run {run}: {t['status']}: {msg}")
        if "recovery_lost" in props:
            s.lost.append(int(props["recovery_lost"]))
            s.duplicated.append(int(props["recovery_duplicated"]))
        if "recovery_seconds" in props:
            s.seconds.append(float(props["recovery_seconds"]))


def _spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"


def _write(
    series: dict[str, Series], load: list[float], runs: int, started: str, part: str
) -> None:
    rows = [
        "| scenario | test | passed | lost (sum) | duplicated (sum) | recovery s min / median / max |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in series.values():
        rows.append(
            f"| {s.scenario} | `{s.test}` | {s.passed}/{s.runs} | {sum(s.lost)} | "
            f"{sum(s.duplicated)} | {_spread(s.seconds)} |"
        )
    fails = [f"- `{s.test}` {f}" for s in series.values() for f in s.failures]
    body = (
        f"Series started {started}; each spec file run {runs} times in a row on one stack of its "
        f"own. Load average (1 min) over the series: {_spread(load)} (min / median / max).\n"
        "Recovery seconds: `kill_taskmanager` SIGKILL to every task running again; "
        "`stop_with_savepoint_and_resume` resubmission to the resumed job running; "
        "`restart_jobmanager` SIGKILL of the JobManager to the resubmitted job running.\n\n"
        + "\n".join(rows)
        + ("\n\nRuns that did not pass:\n\n" + "\n".join(fails) if fails else "")
    )
    specs = " ".join(dict.fromkeys(s.spec for s in series.values()))
    replace_section(
        HEAD.replace("10 runs", f"{runs} runs") + (f": {part}" if part else ""),
        body,
        f"CTT_STATE_DIR={os.environ.get('CTT_STATE_DIR')} uv run python bench/recovery.py "
        f"--runs {runs}{f' --part {shlex.quote(part)}' if part else ''} {specs}",
        machine(),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("specs", nargs="*", help=f"spec files (default: {', '.join(SPECS)})")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--part", default="", help="a name for this series' own section")
    args = ap.parse_args()
    if not os.environ.get("CTT_STATE_DIR"):
        ap.error("set CTT_STATE_DIR to a stack of your own: the scenarios kill its processes")
    tmp = Path(tempfile.mkdtemp(prefix="ctt-bench-recovery-"))
    series: dict[str, Series] = {}
    load: list[float] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for spec in args.specs or SPECS:
        for i in range(1, args.runs + 1):
            load.append(os.getloadavg()[0])
            rc, wall, doc = _run(spec, tmp / "r.json")
            load.append(os.getloadavg()[0])
            _record(series, spec, i, doc)
            print(f"{spec} run {i}: exit {rc} in {wall:.0f}s", flush=True)
            for s in (s for s in series.values() if s.spec == spec):
                print(f"  {s.test}: {s.passed}/{s.runs} passed, seconds {s.seconds}", flush=True)
            if not args.no_write:  # after every run: a series cut short keeps what it measured
                _write(series, load, args.runs, started, args.part)
    return 0 if all(s.passed == s.runs for s in series.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""No flaky verdict, measured: every shipped spec file N runs in a row, with another run beside it.

    uv run python bench/stability.py [--runs 10] [--side specs/basic_field_transformation.yaml]
                                     [SPEC ...] [--no-write]

Each spec file (default: every ``specs/**/*.yaml``) runs ``python -m ctt run SPEC --ci
--results ...`` ``--runs`` times in a row, as a user or CI job runs it, on the stack that is
running (the shared one, or ``CTT_STATE_DIR``'s). All the while a second loop runs ``ctt run``
on ``--side`` over and over on the same stack, so every verdict is taken with another job's
topics, Flink jobs and CPU beside it. A run counts as passed when it exits 0; for any other
exit, each failing test's message is recorded. Writes "Verdict stability under load" in
docs/benchmarks.md: machine, load average, command, per-spec passes and every failure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench._common import machine, replace_section, run_cli

ROOT = Path(__file__).resolve().parents[1]
HEAD = "Verdict stability under load (bench/stability.py)"
SIDE = "specs/basic_field_transformation.yaml"


@dataclass
class SpecRuns:
    spec: str
    passed: int = 0
    failed: int = 0
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # "run 3 (exit 1): test: message"


def _run(spec: str, results: Path) -> tuple[int, float, list[str]]:
    """One ``ctt run``: exit code, wall seconds, and 'test: message' for each test not passed."""
    proc, wall = run_cli(
        [
            sys.executable,
            "-m",
            "ctt",
            "run",
            spec,
            "--ci",
            "--results",
            str(results),
            "--junit",
            str(results.with_suffix(".xml")),
        ]
    )
    bad: list[str] = []
    try:
        doc = json.loads(results.read_text(encoding="utf-8"))
        for t in doc.get("tests", []):
            if t.get("status") not in ("passed", "skipped"):
                msg = " ".join((t.get("message") or t.get("status") or "").split())
                bad.append(f"{t.get('name')}: {t.get('status')}: {msg[:300]}")
    except (OSError, ValueError):
        pass
    if proc.returncode != 0 and not bad:
        tail = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        bad.append(" ".join((tail[-1] if tail else f"exit {proc.returncode}").split())[:300])
    results.unlink(missing_ok=True)
    return proc.returncode, wall, bad


class SideLoop(threading.Thread):
    """``ctt run`` on one spec, again and again, until stopped: the load beside the measured runs."""

    def __init__(self, spec: str, tmp: Path) -> None:
        super().__init__(daemon=True)
        self.spec, self.tmp = spec, tmp
        self.stop = threading.Event()
        self.runs = self.failed = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            rc, _, bad = _run(self.spec, self.tmp / "side.json")
            self.runs += 1
            if rc != 0:
                self.failed += 1
                self.failures += [f"side run {self.runs} (exit {rc}): {b}" for b in bad]


def _specs(args: list[str]) -> list[str]:
    if args:
        return args
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").rglob("*.yaml"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", help="spec files (default: every specs/**/*.yaml)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--side", default=SIDE, help="the spec the load loop runs")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    specs = _specs(args.specs)
    tmp = Path(tempfile.mkdtemp(prefix="ctt-bench-stability-"))
    side = SideLoop(args.side, tmp)
    load: list[float] = []
    out: list[SpecRuns] = []
    t0 = time.monotonic()
    side.start()
    try:
        for spec in specs:
            r = SpecRuns(spec)
            out.append(r)
            for i in range(args.runs):
                load.append(os.getloadavg()[0])
                rc, wall, bad = _run(spec, tmp / "run.json")
                r.seconds.append(wall)
                if rc == 0:
                    r.passed += 1
                else:
                    r.failed += 1
                    r.failures += [f"run {i + 1} (exit {rc}): {b}" for b in bad]
                print(
                    f"{spec} run {i + 1}/{args.runs}: exit {rc} in {wall:.1f} s"
                    + (f" -- {'; '.join(bad)}" if bad else ""),
                    flush=True,
                )
    finally:
        side.stop.set()
        side.join()
    wall = time.monotonic() - t0
    runs = sum(r.passed + r.failed for r in out)
    failed = sum(r.failed for r in out)
    rows = [
        f"| {r.spec} | {r.passed}/{r.passed + r.failed} | {statistics.median(r.seconds):.1f} s "
        f"| {max(r.seconds):.1f} s |"
        for r in out
    ]
    failures = [f"- `{r.spec}` {f}" for r in out for f in r.failures]
    failures += [f"- `{args.side}` {f}" for f in side.failures]
    body = "\n".join(
        [
            f"**{runs - failed} of {runs} runs passed, {failed} failed** ({len(out)} spec files x "
            f"{args.runs} runs in a row); beside them the load loop ran `{args.side}` "
            f"{side.runs} times ({side.failed} failed).",
            "",
            f"Load average (1 min) sampled before each run: mean {statistics.mean(load):.1f}, "
            f"max {max(load):.1f} on {os.cpu_count()} cores. Wall time {wall:.0f} s.",
            "",
            "| spec file | runs passed | median run | slowest run |",
            "|---|---:|---:|---:|",
            *rows,
            "",
            *(["Failures:", "", *failures] if failures else ["No run failed."]),
            "",
            "Each run is `python -m ctt run SPEC --ci --results ...` in the repository root, on the "
            "running stack; a run passes when it exits 0. The load loop is the same command on "
            "its spec, started before the first run and stopped after the last.",
        ]
    )
    print(body)
    if not args.no_write:
        shown = " ".join(args.specs)
        cmd = f"uv run python bench/stability.py --runs {args.runs} {shown}".strip()
        replace_section(HEAD, body, cmd, machine())
    return 0  # finished: the verdicts are the measurement, written above


if __name__ == "__main__":
    sys.exit(main())

"""The README's main job from cold, N times: a fresh private stack, `ctt run` over specs/, stack down.

    uv run python bench/fresh_run.py [--rounds 10] [--no-write]

Each round makes a new ``CTT_STATE_DIR`` (so nothing of a running stack is reused: new
ports, new Kafka storage, cold JVMs), runs ``uv run --frozen ctt run`` in the repository
root exactly as ``make run`` does (the command starts the stack because none is running
there), reads its default results (test-results/flink-results.json) for the tests that did
not pass, then ``uv run --frozen ctt stack down`` with the same state directory and removes
it. The artifact cache (``CTT_CACHE_DIR`` or the XDG cache) is shared, as on a developer's
machine after the first run. Writes "Fresh stack, main job" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import machine, replace_section

ROOT = Path(__file__).resolve().parents[1]
HEAD = "Fresh stack, main job (bench/fresh_run.py)"
RESULTS = ROOT / "test-results" / "flink-results.json"


def _uv(*args: str, env: dict[str, str]) -> tuple[int, float, str]:
    t0 = time.monotonic()
    proc = subprocess.run(
        ["uv", "run", "--frozen", "ctt", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, time.monotonic() - t0, proc.stdout + proc.stderr


def _not_passed() -> tuple[int, list[str]]:
    """Tests in the run's default results file, and 'test: status: message' of those not passed."""
    try:
        doc = json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0, ["no results file"]
    tests = doc.get("tests", [])
    bad = [
        f"{Path(t.get('file', '')).name}::{t.get('name')}: {t.get('status')}: "
        + " ".join((t.get("message") or "").split())[:300]
        for t in tests
        if t.get("status") not in ("passed", "skipped")
    ]
    return len(tests), bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows: list[str] = []
    walls: list[float] = []
    passed = 0
    failures: list[str] = []
    load: list[float] = []
    for i in range(args.rounds):
        state = Path(tempfile.mkdtemp(prefix="ctt-bench-fresh-"))
        env = {**os.environ, "CTT_STATE_DIR": str(state), "NO_COLOR": "1"}
        env.pop("CI", None)  # as a developer types it
        load.append(os.getloadavg()[0])
        RESULTS.unlink(missing_ok=True)
        rc, wall, output = _uv("run", env=env)
        tests, bad = _not_passed()
        started = re.search(r"healthy in ([0-9.]+) ?s", output)
        down_rc, down_s, down_out = _uv("stack", "down", env=env)
        shutil.rmtree(state, ignore_errors=True)
        walls.append(wall)
        ok = rc == 0 and not bad
        passed += ok
        if not ok:
            tail = [ln for ln in output.splitlines() if ln.strip()][-3:]
            failures += [f"- round {i + 1} (exit {rc}): {b}" for b in bad or tail]
        if down_rc != 0:
            failures.append(f"- round {i + 1}: `ctt stack down` exit {down_rc}: {down_out[-300:]}")
        for b in bad:
            print(f"round {i + 1}: {b}", flush=True)
        rows.append(
            f"| {i + 1} | {'pass' if ok else 'FAIL'} (exit {rc}) | {tests} | "
            f"{started.group(1) + ' s' if started else '-'} | {wall:.0f} s | {down_s:.0f} s |"
        )
        print(rows[-1], flush=True)
    body = "\n".join(
        [
            f"**{passed} of {args.rounds} rounds passed**; `ctt run` wall time (stack start "
            f"included) median {statistics.median(walls):.0f} s, min {min(walls):.0f} s, "
            f"max {max(walls):.0f} s. Load average (1 min) at the start of each round: mean "
            f"{statistics.mean(load):.1f}, max {max(load):.1f} on {os.cpu_count()} cores.",
            "",
            "| round | `ctt run` | tests | stack healthy in | `ctt run` wall | `stack down` |",
            "|---:|---|---:|---:|---:|---:|",
            *rows,
            "",
            *(["Failures:", "", *failures] if failures else ["No round failed."]),
            "",
            "Each round: a new `CTT_STATE_DIR` (private ports, new Kafka storage, cold JVMs), "
            "`uv run --frozen ctt run` in the repository root as `make run` runs it (it starts "
            "the stack), then `uv run --frozen ctt stack down` and the state directory removed. "
            "Artifacts come from the shared cache. Other work (the shared stack, other benchmarks) "
            "may run on the same cores.",
        ]
    )
    print(body)
    if not args.no_write:
        replace_section(
            HEAD, body, f"uv run python bench/fresh_run.py --rounds {args.rounds}", machine()
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

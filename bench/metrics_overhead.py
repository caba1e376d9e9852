"""What reading job metrics costs a basic test: the same spec with and without, interleaved.

    CTT_STATE_DIR=/tmp/mine uv run python bench/metrics_overhead.py [--runs 10] [--spec S] [--no-write]

Runs ``uv run --frozen ctt run SPEC`` ``--runs`` times with job metrics (the default) and as
many times with ``--no-job-metrics``, alternating (on, off, on, off, ...) so both see the same
load. Compares the test's own duration from the results JSON (submission to verdict, without
the CLI's start-up) and the wall time of the command: median, min and max of each, and the
overhead as the relative difference of the medians; and, inside each run with metrics on, the
seconds the metrics read itself took (the runner's log) against the test's duration. Writes "Job metrics overhead on a basic
test" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench._common import machine, replace_section, run_cli

ROOT = Path(__file__).resolve().parents[1]
HEAD = "Job metrics overhead on a basic test (bench/metrics_overhead.py)"
SPEC = "specs/basic_field_transformation.yaml"


_READ = re.compile(r"job metrics read in (\d+\.\d+)s")


def _run(spec: str, results: Path, metrics: bool) -> tuple[float, float, bool, float | None]:
    """One ``ctt run``: (test seconds, wall seconds, passed, seconds the metrics read took)."""
    flag = "--job-metrics" if metrics else "--no-job-metrics"
    proc, wall = run_cli(
        ["uv", "run", "--frozen", "ctt", "run", spec, flag, "--results", str(results)]
    )
    doc = json.loads(results.read_text(encoding="utf-8"))
    test = sum(float(t["duration_s"]) for t in doc["tests"])
    reads = [float(m[1]) for t in doc["tests"] for ln in t["log"] if (m := _READ.search(ln))]
    results.unlink(missing_ok=True)
    return test, wall, proc.returncode == 0, sum(reads) if reads else None


def _stats(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--spec", default=SPEC)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ctt-bench-metrics-"))
    _run(args.spec, tmp / "warm.json", True)  # the stack's first job pays class loading
    arms: dict[bool, tuple[list[float], list[float]]] = {True: ([], []), False: ([], [])}
    passed = {True: 0, False: 0}
    pairs: list[float] = []  # (on - off) / off within one interleaved pair
    reads: list[float] = []
    shares: list[float] = []
    load: list[float] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for i in range(args.runs):
        pair: dict[bool, float] = {}
        for on in (True, False) if i % 2 == 0 else (False, True):
            load.append(os.getloadavg()[0])
            test, wall, ok, read = _run(args.spec, tmp / "r.json", on)
            pair[on] = test
            if read is not None:
                reads.append(read)
                shares.append(read / test)
            arms[on][0].append(test)
            arms[on][1].append(wall)
            passed[on] += ok
            print(f"run {i + 1} metrics={'on' if on else 'off'}: test {test:.2f}s wall {wall:.2f}s")
        pairs.append((pair[True] - pair[False]) / pair[False])
    on_t, off_t = statistics.median(arms[True][0]), statistics.median(arms[False][0])
    on_w, off_w = statistics.median(arms[True][1]), statistics.median(arms[False][1])
    direct = (
        f"Measured inside each run with metrics on (the runner logs how long the read took): "
        f"{_stats(reads)} s, that is **{statistics.median(shares):.1%}** of the test's duration "
        f"(median; max {max(shares):.1%})."
        if reads
        else "The runs logged no metrics read time."
    )
    widest = max(max(xs) - min(xs) for xs in (arms[True][0], arms[False][0]))
    spread = (
        f"The spread of an arm under this load ({widest:.2f} s) is wider than that difference."
        if widest > abs(on_t - off_t)
        else f"The difference is larger than the spread of either arm ({widest:.2f} s)."
    )
    body = f"""Series started {started}, {args.runs} runs per arm, interleaved (on/off, then
off/on), after one warm-up run; load average (1 min) {min(load):.1f}-{max(load):.1f}
(median {statistics.median(load):.1f}). Spec: `{args.spec}` (one test, explicit rows, bounded).
`--no-job-metrics` skips reading the job's metrics after the test (records in/out per vertex,
back pressure, checkpoints, restarts, late records); everything else is the same.

| arm | passed | test s, median (min-max) | `ctt run` wall s, median (min-max) |
|---|---:|---:|---:|
| job metrics on (default) | {passed[True]}/{args.runs} | {_stats(arms[True][0])} | {_stats(arms[True][1])} |
| `--no-job-metrics` | {passed[False]}/{args.runs} | {_stats(arms[False][0])} | {_stats(arms[False][1])} |

Overhead of metric collection (difference of the medians): **{(on_t - off_t) / off_t:+.1%}** of
the test's duration ({on_t - off_t:+.2f} s), {(on_w - off_w) / off_w:+.1%} of the command's wall
time. {spread} Paired (each on run against the off run beside it): median
**{statistics.median(pairs):+.1%}**, the on run slower in {sum(x > 0 for x in pairs)} of {len(pairs)}
pairs.

{direct}"""
    print(body)
    if not args.no_write:
        replace_section(
            HEAD,
            body,
            f"CTT_STATE_DIR=/tmp/ctt-recover2 uv run python bench/metrics_overhead.py "
            f"--runs {args.runs}",
            machine(),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

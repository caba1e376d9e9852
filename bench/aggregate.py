"""Benchmark: `ctt aggregate` over 100,000 test cases in 500 JUnit files (target <= 5 s, <= 500 MB).

Generates the files (1% failures with diffs, 0.5% flaky with two attempts, one
results JSON per file), runs the real CLI as a subprocess with a fresh SQLite
history, and samples the RSS of its whole process tree.

    uv run python bench/aggregate.py [--files 500] [--cases 200]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, write_section

from ctt.report.junit import Attempt, TestCaseResult, TestSuiteResult, write_junit
from ctt.report.model import Status as CaseStatus


def generate(root: Path, files: int, cases: int) -> None:
    rnd = random.Random(7)
    for f in range(files):
        out = []
        for c in range(cases):
            r = rnd.random()
            if r < 0.01:
                out.append(
                    TestCaseResult(
                        name=f"test_{c}",
                        classname=f"suite{f}.mod{c % 7}",
                        time=rnd.random(),
                        status=CaseStatus.FAILED,
                        message="rows differ",
                        details="- {'id': 1, 'total': 3}\n+ {'id': 1, 'total': 4}",
                    )
                )
            elif r < 0.015:
                out.append(
                    TestCaseResult.from_attempts(
                        f"test_{c}",
                        [
                            Attempt(status=CaseStatus.FAILED, message="timeout"),
                            Attempt(status=CaseStatus.PASSED),
                        ],
                        classname=f"suite{f}.mod{c % 7}",
                    )
                )
            else:
                out.append(
                    TestCaseResult(
                        name=f"test_{c}", classname=f"suite{f}.mod{c % 7}", time=rnd.random()
                    )
                )
        write_junit([TestSuiteResult(name=f"suite{f}", cases=out)], root / f"junit-suite{f}.xml")


def run(root: Path) -> tuple[float, float, int]:
    cmd = [
        sys.executable,
        "-m",
        "ctt",
        "aggregate",
        str(root / "results"),
        "--history",
        str(root / "history.sqlite"),
        "--report",
        str(root / "report.html"),
        "--metrics",
        str(root / "metrics.json"),
        "--junit",
        str(root / "merged.xml"),
        "--branch",
        "main",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs))
        except psutil.Error:
            pass
        time.sleep(0.01)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.read().decode() if proc.stderr else "failed")
    return wall, peak / 2**20, proc.returncode


_BARE = """
import sys, xml.etree.ElementTree as ET
from pathlib import Path
n = sum(1 for f in Path(sys.argv[1]).iterdir() for _, e in ET.iterparse(f) if e.tag == "testcase")
assert n > 0
"""


def bare(root: Path) -> float:
    """The anchor, in the same run: a fresh Python reading the same files with ElementTree's
    C parser and nothing else (no models, no history, no reports)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", _BARE, str(root / "results")], check=True)
    return time.perf_counter() - t0


_NOTES = """
2026-12-06: reading goes through ElementTree's C parser (defusedxml's parser called Python for
every element; a DTD is still refused, by expat reading the prolog only) and cases are built
without `model_construct`'s per-field loop. Against the previous commit, alternating on the same
files in the same hour: 3.95-5.24 s against 5.08-6.68 s wall, 3.5-4.7 s against 4.6-6.1 s of user
CPU. That day's machine (AMD EPYC, 2 cores) ran ctt about 1.5-2x slower than the Intel Xeon of
the earlier measures (where the previous commit's best was 2.98 s, on 2026-12-05): compare the
anchor column, not the wall times, across days.

Before the last speed-up: best 4.85 s (load ~4) and 5.53 s (load ~5.3), 234 MB; at load ~2.2,
3.85-3.98 s against 3.58-3.63 s after. Where the time goes now (in-process, load ~2, this
machine runs Python with `PYTHONDONTWRITEBYTECODE=1`, so imports include compiling):
imports ~1.0 s (SQLAlchemy ~0.45 s: the history store needs it, and the benchmark records
history), reading 100,000 cases ~1.1 s (expat, then one pydantic model per case), recording
them in SQLite ~0.6 s (driver `executemany`; SQLite's own inserts and indexes), metrics
~0.25 s, merged JUnit ~0.25 s (was ~0.8 s: attributes with nothing to escape skip
`quoteattr`), HTML and metrics JSON < 0.05 s. Earlier measures that stay: the cyclic GC is
off while the run is built (it re-traversed 100,000 live objects: half the time), plain
passing cases are written without ElementTree, and parsing in worker processes was dropped
(pickling the cases back cost more than parsing saved).
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        t0 = time.perf_counter()
        generate(root / "results", args.files, args.cases)
        gen = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in (root / "results").iterdir()) / 2**20
        rows, anchors = [], []
        load = [os.getloadavg()[0]]
        for i in range(args.repeat):
            (root / "history.sqlite").unlink(missing_ok=True)
            wall, peak, _ = run(root)
            rows.append((wall, peak))
            anchors.append(bare(root))
            print(f"run {i + 1}: {wall:.2f} s, peak RSS {peak:.0f} MB; bare parse {anchors[-1]:.2f} s")
        load.append(os.getloadavg()[0])
    best = min(w for w, _ in rows)
    floor = min(anchors)
    worst_mem = max(m for _, m in rows)
    total = args.files * args.cases
    verdict = "meets" if best <= 5 and worst_mem <= 500 else "MISSES"
    text = (
        f"`ctt aggregate` over {total:,} test cases in {args.files} JUnit files ({size:.0f} MB; "
        f"generated in {gen:.1f} s), fresh SQLite history, HTML + metrics + merged JUnit written.\n\n"
        "| run | wall (s) | peak RSS of the process tree (MB) | anchor: bare C parse of the same files (s) |\n"
        "|---|---|---|---|\n"
        + "".join(
            f"| {i + 1} | {w:.2f} | {m:.0f} | {a:.2f} |\n"
            for i, ((w, m), a) in enumerate(zip(rows, anchors, strict=True))
        )
        + f"\nLoad average (1 min) before and after: {load[0]:.2f}, {load[1]:.2f}.\n"
        + f"\nBest {best:.2f} s ({best / floor:.1f}x the bare parse, {floor:.2f} s), peak "
        f"{worst_mem:.0f} MB: {verdict} the target (<= 5 s, <= 500 MB); issue 12's target is "
        f"2.5 s ({'met' if best <= 2.5 else 'not met'}).\n"
        + _NOTES
    )
    print(text)
    if not args.no_write:
        write_section("Aggregation", text, "uv run python bench/aggregate.py", machine())


if __name__ == "__main__":
    main()

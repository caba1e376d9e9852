"""Benchmark: run-to-run noise of one spec's performance metrics, and the regression verdicts.

Runs the spec ``--runs`` times on the local stack (``CTT_STATE_DIR``), each run followed by
``ctt aggregate`` into one fresh history and ``ctt gate --json``, all through the real CLI in
a temporary directory; prints (and writes to docs/benchmarks.md) each run's latency
percentiles, the load average and the gate's ``performance_regression`` verdict.

    CTT_STATE_DIR=/tmp/ctt-x uv run python bench/perf_noise.py [--spec specs/performance/latency.yaml]
        [-k processing_latency] [--runs 7] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, replace_section

GATES = """\
quality_gates:
  mode: blocking
  performance_regression:
    action: block
    baseline_runs: 6
    min_samples: 3
    consecutive: 2
"""
_CTT = [sys.executable, "-m", "ctt"]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_CTT, *args], cwd=cwd, env=env, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", default="specs/performance/latency.yaml")
    parser.add_argument("-k", default="processing_latency")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    spec = Path(args.spec).resolve()
    rows, p95s = [], []
    with tempfile.TemporaryDirectory(prefix="ctt-perf-noise-") as tmp:
        work = Path(tmp)
        (work / "gates.yaml").write_text(GATES)
        for i in range(1, args.runs + 1):
            env = {**os.environ, "CI_PIPELINE_ID": str(i)}
            start = time.monotonic()
            _run(["run", str(spec), "-k", args.k], work, env)
            wall = time.monotonic() - start
            load = os.getloadavg()[0]
            test = json.loads((work / "test-results" / "flink-results.json").read_text())["tests"][
                0
            ]
            _run(["aggregate", "test-results", "--history", "h.sqlite", "--gates", "gates.yaml",
                  "--branch", "main"], work, env)  # fmt: skip
            gate = json.loads(_run(["gate", "--config", "gates.yaml", "--json"], work, env).stdout)
            row = next(r for r in gate["results"] if r["condition"] == "performance_regression")
            m = test["metrics"]
            if test["status"] == "passed" and m.get("latency_p95_ms") is not None:
                p95s.append(float(m["latency_p95_ms"]))
            rows.append(
                f"| {i} | {test['status']} | {wall:.0f} s | {m.get('latency_p50_ms', '-')} | "
                f"{m.get('latency_p95_ms', '-')} | {m.get('latency_p99_ms', '-')} | {load:.1f} | "
                f"{row['verdict']}: {row['actual']} |"
            )
            print(rows[-1], flush=True)
    spread = (
        f"Passing runs: p95 median {statistics.median(p95s):.0f} ms, coefficient of variation "
        f"{statistics.stdev(p95s) / statistics.mean(p95s) * 100:.0f}%."
        if len(p95s) > 1
        else "Fewer than two passing runs: no spread."
    )
    body = "\n".join(
        [
            "| run | status | test wall | latency p50 (ms) | p95 | p99 | load | gate |",
            "|---:|---|---:|---:|---:|---:|---:|---|",
            *rows,
            "",
            spread,
        ]
    )
    print(spread)
    if not args.no_write:
        replace_section(
            "Performance regression detection: run-to-run noise (bench/perf_noise.py)",
            body,
            f"uv run python bench/perf_noise.py --spec {args.spec} -k {args.k} --runs {args.runs}",
            machine(),
        )


if __name__ == "__main__":
    main()

"""Local stack cold start (artifacts cached, nothing running) to healthy, and each JVM's RSS.

Targets (issue 2, 2-core machine): healthy in <= 30 s; all JVMs together <= 3 GB RSS.
Runs in a private state directory, so a stack you have running is not touched.

    uv run python bench/stack_start.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import psutil

from bench._common import machine, replace_section


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    os.environ["CTT_STATE_DIR"] = tempfile.mkdtemp(prefix="ctt-bench-stack-")
    from ctt.stack import artifacts
    from ctt.stack.supervisor import LocalStack

    artifacts.ensure()  # cached: the benchmark measures start, not download
    times: list[float] = []
    rss: dict[str, list[float]] = {}
    load = []
    for i in range(args.runs):
        stack = LocalStack()
        t0 = time.monotonic()
        st, _ = stack.up()
        times.append(time.monotonic() - t0)
        time.sleep(
            5
        )  # let the JVMs settle before reading RSS (a measurement pause, not synchronisation)
        for name, comp in st.components.items():
            rss.setdefault(name, []).append(psutil.Process(comp.pid).memory_info().rss / 2**20)
        load.append(os.getloadavg()[0])
        stack.down()
        print(f"run {i + 1}: healthy in {times[-1]:.1f}s")
    total = sum(statistics.median(v) for v in rss.values())
    rows = "\n".join(f"| {n} | {statistics.median(v):.0f} MB |" for n, v in rss.items())
    body = f"""
| measure | result | target |
|---|---|---|
| cold start to healthy (median of {args.runs}; min {min(times):.1f} s, max {max(times):.1f} s) | **{statistics.median(times):.1f} s** | <= 30 s |
| all JVMs together, RSS after start (median) | **{total:.0f} MB** | <= 3072 MB |

| component | RSS (median) |
|---|---|
{rows}

"Cold" means artifacts cached and nothing running: Kafka storage is formatted, the four JVMs are
started at once and health is polled (Kafka metadata, Flink `/overview` with a registered
TaskManager, gateway `/v1/info`). Load average during the runs: {statistics.mean(load):.1f}.
Memory settings are in `ctt/stack/supervisor.py` (`StackSettings`): Kafka heap 512 MB, JobManager
process 800 MB, TaskManager process 1600 MB, gateway heap 384 MB.
"""
    if not args.no_write:
        replace_section("Local stack start", body, "uv run python bench/stack_start.py", machine())
    print(body)


if __name__ == "__main__":
    main()

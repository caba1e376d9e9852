"""Local stack cold start (artifacts cached, nothing running) to healthy, and each JVM's RSS.

Targets (issue 2, 2-core machine): healthy in <= 30 s; all JVMs together <= 3 GB RSS.
Runs in a private state directory, so a stack you have running is not touched.

    uv run python bench/stack_start.py [--runs 3]
    uv run python bench/stack_start.py --with connect,postgres [--runs 3]

With ``--with``, every run starts the default stack and then the stack with the extras, one
after the other, so both are measured under the same load; the section is its own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import psutil

from bench._common import machine, replace_section


class Sample:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.rss: dict[str, list[float]] = {}
        self.load: list[float] = []


def _measure(extras: str, sample: Sample) -> float:
    from ctt.commands.stack import settings_from_args
    from ctt.stack.supervisor import LocalStack

    stack = LocalStack(settings_from_args(with_=extras))
    t0 = time.monotonic()
    st, _ = stack.up()
    sample.times.append(time.monotonic() - t0)
    time.sleep(
        5
    )  # let the JVMs settle before reading RSS (a measurement pause, not synchronisation)
    for name, comp in st.components.items():
        sample.rss.setdefault(name, []).append(psutil.Process(comp.pid).memory_info().rss / 2**20)
    sample.load.append(os.getloadavg()[0])
    stack.down()
    return sample.times[-1]


def _rss_rows(sample: Sample) -> tuple[float, str]:
    total = sum(statistics.median(v) for v in sample.rss.values())
    rows = "\n".join(f"| {n} | {statistics.median(v):.0f} MB |" for n, v in sample.rss.items())
    return total, rows


def _default_body(runs: int, s: Sample) -> str:
    total, rows = _rss_rows(s)
    return f"""
| measure | result | target |
|---|---|---|
| cold start to healthy (median of {runs}; min {min(s.times):.1f} s, max {max(s.times):.1f} s) | **{statistics.median(s.times):.1f} s** | <= 30 s |
| all JVMs together, RSS after start (median) | **{total:.0f} MB** | <= 3072 MB |

| component | RSS (median) |
|---|---|
{rows}

"Cold" means artifacts cached and nothing running: Kafka storage is formatted, the four JVMs are
started at once and health is polled (Kafka metadata, Flink `/overview` with a registered
TaskManager, gateway `/v1/info`). Load average during the runs: {statistics.mean(s.load):.1f}.
Memory settings are in `ctt/stack/settings.py` (`StackSettings`): Kafka heap 512 MB, JobManager
process 800 MB, TaskManager process 1600 MB, gateway heap 384 MB.
"""


def _extras_body(extras: str, runs: int, base: Sample, more: Sample) -> str:
    total, rows = _rss_rows(more)

    def cell(s: Sample) -> str:
        return f"**{statistics.median(s.times):.1f} s** (min {min(s.times):.1f}, max {max(s.times):.1f})"

    return f"""
| stack | cold start to healthy (median of {runs}) |
|---|---|
| default (`ctt stack up`) | {cell(base)} |
| `ctt stack up --with {extras}` | {cell(more)} |

| component (with {extras}) | RSS (median) |
|---|---|
{rows}
| all together | {total:.0f} MB |

Each run starts the default stack, stops it, then starts the stack with `--with {extras}`, so
both see the same load. With the extras, the Connect JVM boots beside Kafka and Flink and
`initdb` runs while the JVMs boot; health adds Connect's `/connector-plugins` listing the JDBC
sink (and `/connectors` answering) and `SELECT 1` in PostgreSQL. Connect heap 512 MB
(`StackSettings.connect_heap`). Load average (1 min) during the runs:
{statistics.mean(base.load + more.load):.1f} (min {min(base.load + more.load):.1f}, max {max(base.load + more.load):.1f}).
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--with", dest="extras", default="", help="e.g. connect,postgres")
    args = ap.parse_args()
    os.environ["CTT_STATE_DIR"] = tempfile.mkdtemp(prefix="ctt-bench-stack-")
    from ctt.stack import artifacts
    from ctt.stack.settings import parse_extras

    extras = ",".join(sorted(parse_extras(args.extras)))
    artifacts.ensure()  # cached: the benchmark measures start, not download
    base, more = Sample(), Sample()
    for i in range(args.runs):
        line = f"run {i + 1}: default healthy in {_measure('', base):.1f}s"
        if extras:
            line += f", --with {extras} healthy in {_measure(extras, more):.1f}s"
        print(line, f"(load {os.getloadavg()[0]:.1f})")
    if extras:
        head, body = f"Local stack start with {extras}", _extras_body(extras, args.runs, base, more)
        command = f"uv run python bench/stack_start.py --with {extras} --runs {args.runs}"
    else:
        head, body = "Local stack start", _default_body(args.runs, base)
        command = "uv run python bench/stack_start.py"
    if not args.no_write:
        replace_section(head, body, command, machine())
    print(body)


if __name__ == "__main__":
    main()

"""Run every benchmark in bench/, one process each, and say which finished.

Each benchmark writes its own section of docs/benchmarks.md with the machine and its
command, so this only sequences them (stack start first: it uses a private stack; the
others share the developer's or start one). `make bench` calls this.

    uv run python bench/run_all.py [--only NAME,...] [--skip NAME,...] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Order: the private-stack benchmark first, then those that need a running stack, then pure Python.
BENCHMARKS = (
    "stack_start",
    "runner",
    "producer",
    "mutation",
    "stability",
    "fresh_run",
    "confluent_contract",
    "parallel",
    "oracle",
    "selection",
    "aggregate",
    "pipeline",
)


def discovered() -> set[str]:
    """Every benchmark module in bench/: a new one not listed above is an error, not silently skipped."""
    return {p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_") and p.stem != "run_all"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated benchmark names")
    ap.add_argument("--skip", default="", help="comma-separated benchmark names")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    unlisted = discovered() - set(BENCHMARKS)
    if unlisted:
        print(f"run_all: benchmarks not in BENCHMARKS: {', '.join(sorted(unlisted))}")
        return 2
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    unknown = (only | skip) - set(BENCHMARKS)
    if unknown:
        print(f"run_all: unknown benchmark(s): {', '.join(sorted(unknown))}")
        return 2
    todo = [n for n in BENCHMARKS if (not only or n in only) and n not in skip]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    failed: list[str] = []
    for name in todo:
        cmd = [sys.executable, str(HERE / f"{name}.py")]
        if args.no_write:
            cmd.append("--no-write")
        print(f"== bench/{name}.py", flush=True)
        t0 = time.monotonic()
        rc = subprocess.run(cmd, env=env, cwd=HERE.parent, check=False).returncode
        print(f"== bench/{name}.py: exit {rc} in {time.monotonic() - t0:.0f} s", flush=True)
        if rc != 0:
            failed.append(name)
    print(
        f"{len(todo) - len(failed)} of {len(todo)} benchmarks finished"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

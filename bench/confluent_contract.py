"""The shipped spec set's wall time via `--engine confluent` (contract server) beside the local engine.

    uv run python bench/confluent_contract.py [--rounds 1] [--no-write]

Each round runs, as a user does, ``ctt run specs -p <slots>`` (local engine) and then
``ctt run --engine confluent specs -p <slots>`` with ``CONFLUENT_*`` pointing at the
contract server of ``tests/contract`` (Confluent's OpenAPI files validate every request
and response; the server executes the statements on the same local stack). Both use the
running stack (started if none runs). Tests the Confluent run refuses up front are
counted, not timed. Writes "Confluent engine against the contract server" in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import machine, replace_section  # noqa: E402
from ctt.stack.supervisor import LocalStack  # noqa: E402
from tests.contract.confluent_server import (  # noqa: E402
    confluent_env,
    load_specs,
    patched,
    serve_on_stack,
)
from tests.contract.conftest import SPEC_DIR  # noqa: E402

UV_CTT = ["uv", "run", "--frozen", "ctt", "run"]
HEAD = "Confluent engine against the contract server (bench/confluent_contract.py)"


def _run(args: list[str], env: dict[str, str], out: Path) -> tuple[float, int, dict[str, int]]:
    results = out / "results.json"
    t0 = time.monotonic()
    proc = subprocess.run(
        [*UV_CTT, *args, "--junit", str(out / "junit.xml"), "--results", str(results)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - t0
    counts: dict[str, int] = {}
    if results.is_file():
        for t in json.loads(results.read_text())["tests"]:
            counts[t["status"]] = counts.get(t["status"], 0) + 1
    return wall, proc.returncode, counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    opts = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITLAB_CI")}
    state, _ = LocalStack().up()
    docs = load_specs(SPEC_DIR)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(1, opts.rounds + 1):
            load = os.getloadavg()[0]
            local = _run(["specs", "-p", str(state.slots)], env, Path(tmp))
            server = serve_on_stack(patched(docs), docs, state)
            try:
                cenv = {**env, **confluent_env(server, state.bootstrap_servers)}
                args = ["--engine", "confluent", "specs", "-p", str(state.slots)]
                cloud = _run(args, cenv, Path(tmp))
                violations = len(server.app.violations)
            finally:
                server.close()
            rows.append((n, load, local, cloud, violations))
            print(
                f"round {n}: local {local[0]:.1f}s {local[2]}, confluent {cloud[0]:.1f}s "
                f"{cloud[2]}, violations {violations}, load {load:.1f}"
            )
    lines = [
        "| round | load avg (1 min) at start | local: wall (s), exit, tests | confluent via "
        "contract server: wall (s), exit, tests | OpenAPI violations |",
        "|---|---|---|---|---|",
    ]
    for n, load, local, cloud, violations in rows:
        lines.append(
            f"| {n} | {load:.1f} | {local[0]:.1f}, {local[1]}, {_counts(local[2])} | "
            f"{cloud[0]:.1f}, {cloud[1]}, {_counts(cloud[2])} | {violations} |"
        )
    body = "\n".join(lines) + (
        "\n\nBoth runs use the same local stack. The Confluent run refuses up front (skipped, "
        "one line each) the tests that need what Confluent Cloud lacks (`PROCTIME()`, "
        "Flink's late-records-dropped count), so it runs fewer tests; it also pays one HTTP "
        "statement per DDL (create, poll, read results, delete) where the local engine keeps "
        "a gateway session. The contract server adds its own OpenAPI validation of every "
        "request and response. Nothing here measures Confluent Cloud itself."
    )
    if not opts.no_write:
        replace_section(HEAD, body, "uv run --frozen python bench/confluent_contract.py", machine())
    return 0


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(c.items())) or "no results"


if __name__ == "__main__":
    sys.exit(main())

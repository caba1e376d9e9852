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


Run = tuple[float, int, dict[str, int], str]  # wall, exit code, tests by status, load avg


def _run(args: list[str], env: dict[str, str], out: Path) -> Run:
    results = out / "results.json"
    before = os.getloadavg()[0]
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
    return wall, proc.returncode, counts, f"{before:.1f} -> {os.getloadavg()[0]:.1f}"


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
            local = _run(["specs", "-p", str(state.slots)], env, Path(tmp))
            server = serve_on_stack(patched(docs), docs, state)
            try:
                cenv = {**env, **confluent_env(server, state.bootstrap_servers)}
                args = ["--engine", "confluent", "specs", "-p", str(state.slots)]
                cloud = _run(args, cenv, Path(tmp))
                violations = len(server.app.violations)
            finally:
                server.close()
            rows.append((n, local, cloud, violations))
            print(
                f"round {n}: local {local[0]:.1f}s {local[2]} (load {local[3]}), confluent "
                f"{cloud[0]:.1f}s {cloud[2]} (load {cloud[3]}), violations {violations}"
            )
    lines = [
        "| round | local: wall (s), exit, tests | load avg (1 min) start -> end | confluent via "
        "contract server: wall (s), exit, tests | load avg start -> end | OpenAPI violations |",
        "|---|---|---|---|---|---|",
    ]
    for n, local, cloud, violations in rows:
        lines.append(
            f"| {n} | {local[0]:.1f}, {local[1]}, {_counts(local[2])} | {local[3]} | "
            f"{cloud[0]:.1f}, {cloud[1]}, {_counts(cloud[2])} | {cloud[3]} | {violations} |"
        )
    body = "\n".join(lines) + (
        "\n\nBoth runs use the same local stack. The Confluent run refuses up front (skipped, "
        "one line each) the tests that need what Confluent Cloud lacks (`PROCTIME()`, "
        "Flink's late-records-dropped count), so it runs fewer tests; it also pays one HTTP "
        "statement per DDL (create, poll, read results, delete) where the local engine keeps "
        "a gateway session, and it polls at `CONFLUENT_POLL_INTERVAL_S` = 0.2 s. The machine is "
        "shared (2 cores, other sessions' tests running): compare the two columns of one round "
        "and its load, not rounds with each other. The contract server adds its own OpenAPI validation of every "
        "request and response. Since 2026-12-04 every record the Confluent run produces and "
        "reads is framed through the contract Schema Registry (Avro, as `avro-registry` "
        "tables need), and the server's tables run Flink's `avro-confluent` format against it. "
        "Nothing here measures Confluent Cloud itself."
    )
    if not opts.no_write:
        replace_section(HEAD, body, "uv run --frozen python bench/confluent_contract.py", machine())
    return 0


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(c.items())) or "no results"


if __name__ == "__main__":
    sys.exit(main())

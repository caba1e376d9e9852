"""The same specs on one stack, as ctt's own and as a cluster ctt did not start, alone and shared.

    uv run python bench/remote_cluster.py --state-dir /tmp/ctt-remote-a [--rounds 1] [--no-write]

The stack in ``--state-dir`` is started (with a SASL/PLAIN listener, user ``ctt``) unless it
runs. Each round runs ``ctt run`` over the same four specs:

- ``local``: the stack as ctt's own (``CTT_STATE_DIR`` = that dir), ``-p 4``: the anchor;
- ``remote``: an empty ``CTT_STATE_DIR``, the stack by URL only (``CTT_GATEWAY_URL`` ...), ``-p 4``;
- ``remote SASL``: the same over the SASL listener (ctt's clients and Flink's tables);
- ``2 x remote SASL``: two such processes at once, ``-p 2`` each, sharing the four slots;

after one unrecorded warm-up run (the first run on a stack pays for cold JVM code paths).

Writes "Remote cluster" in docs/benchmarks.md: wall time per configuration, the tests'
own durations, and the load average at the start of each.
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

from pydantic import SecretStr

from bench._common import machine, replace_section
from ctt.stack.settings import StackSettings
from ctt.stack.supervisor import LocalStack

ROOT = Path(__file__).resolve().parents[1]
HEAD = "Remote cluster (bench/remote_cluster.py)"
SPECS = [
    "specs/basic_field_transformation.yaml",
    "specs/stream_join.yaml",
    "specs/user_events_transformed.yaml",
    "specs/windowed_aggregation.yaml",
]
USER, PASSWORD = "ctt", "ctt-test-secret"


def _stack(state_dir: Path) -> tuple[str, str, str, str]:
    """(gateway, rest, plaintext bootstrap, SASL bootstrap) of the stack, started if needed."""
    os.environ["CTT_STATE_DIR"] = str(state_dir)
    settings = StackSettings(kafka_sasl_users={USER: SecretStr(PASSWORD)})
    st, _started = LocalStack(settings, say=print).up()
    if st.sasl_bootstrap_servers is None:
        sys.exit(f"the stack in {state_dir} has no SASL listener: stop it and run this again")
    return st.gateway_url, st.flink_rest_url, st.bootstrap_servers, st.sasl_bootstrap_servers


def _env(state_dir: Path, urls: tuple[str, str, str, str], mode: str, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTT_")}
    if mode == "local":
        return {**env, "CTT_STATE_DIR": str(state_dir)}
    empty = Path(tempfile.mkdtemp(dir=work, prefix="no-stack-"))
    gateway, rest, plain, sasl = urls
    env.update(CTT_STATE_DIR=str(empty), CTT_GATEWAY_URL=gateway, CTT_FLINK_REST_URL=rest)
    if mode == "remote":
        return {**env, "CTT_KAFKA_BOOTSTRAP": plain}
    return {
        **env,
        "CTT_KAFKA_BOOTSTRAP": sasl,
        "CTT_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "CTT_KAFKA_SASL_MECHANISM": "PLAIN",
        "CTT_KAFKA_SASL_USERNAME": USER,
        "CTT_KAFKA_SASL_PASSWORD": PASSWORD,
    }


def _start(env: dict[str, str], parallel: int, results: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "uv", "run", "--frozen", "ctt", "run", *SPECS, "-p", str(parallel),
            "--results", str(results), "--junit", str(results.with_suffix(".xml")),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip


def _outcome(results: Path) -> tuple[str, list[float]]:
    try:
        doc = json.loads(results.read_text())
    except (OSError, ValueError):
        return "no results", []
    tests = doc.get("tests", [])
    passed = sum(t.get("status") == "passed" for t in tests)
    return f"{passed}/{len(tests)} passed", [float(t.get("duration_s") or 0) for t in tests]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--state-dir", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    urls = _stack(args.state_dir)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ctt-bench-remote-") as tmp:
        work = Path(tmp)
        warm = work / "warm-up.json"  # the first run on a stack pays for cold JVM code paths
        _start(_env(args.state_dir, urls, "local", work), 4, warm).wait()
        tests = len(json.loads(warm.read_text()).get("tests", [])) if warm.is_file() else "?"
        for rnd in range(1, args.rounds + 1):
            for label, mode, procs, parallel in (
                ("local (anchor)", "local", 1, 4),
                ("remote, plaintext", "remote", 1, 4),
                ("remote, SASL", "sasl", 1, 4),
                ("2 x remote, SASL, at once", "sasl", 2, 2),
            ):
                load = os.getloadavg()[0]
                t0 = time.monotonic()
                files = [work / f"r{rnd}-{mode}-{procs}-{i}.json" for i in range(procs)]
                running = [
                    _start(_env(args.state_dir, urls, mode, work), parallel, f) for f in files
                ]
                codes = [p.wait() for p in running]
                wall = time.monotonic() - t0
                outcomes = [_outcome(f) for f in files]
                durations = [d for _o, ds in outcomes for d in ds]
                row = (
                    f"| {rnd} | {label} | {procs} x `-p {parallel}` | "
                    f"{', '.join(o for o, _d in outcomes)} (exit {', '.join(map(str, codes))}) | "
                    f"{wall:.1f} s | {sum(durations) / max(1, len(durations)):.1f} s | {load:.1f} |"
                )
                print(row, flush=True)
                rows.append(row)
    body = (
        f"Specs: {', '.join(f'`{s}`' for s in SPECS)} ({tests} tests per process) on one stack "
        "with 4 TaskManager slots, after one unrecorded warm-up run; `remote` runs see no stack "
        "state (empty `CTT_STATE_DIR`), only the URLs and bootstrap servers.\n\n"
        "| round | configuration | processes | outcome | wall | mean test duration | "
        "load (1 min) at start |\n|---:|---|---|---|---:|---:|---:|\n" + "\n".join(rows) + "\n"
    )
    if not args.no_write:
        replace_section(
            HEAD,
            body,
            f"uv run python bench/remote_cluster.py --state-dir DIR --rounds {args.rounds}",
            machine(),
        )


if __name__ == "__main__":
    main()

"""One basic transformation test: ctt as a user runs it, side by side with the bare gateway.

Three figures, interleaved run by run on one stack so that load drifts hit them alike:

- **ctt CLI**: `python -m ctt run specs/basic_field_transformation.yaml` in a fresh process, as a
  user or CI job runs it (Python start, rendering, planning, producing, collecting, validating,
  reports and cleanup);
- **ctt runner**: the same test through `FlinkTestRunner` in this process (no Python start);
- **bare gateway**: the same SQL and rows by hand through the same gateway and stack settings:
  create the topics and tables, start the INSERT job, produce the rows (acks=all, one request in
  flight), poll the job from 10 ms with backoff until it finished, read the output.

Then the **first test on a fresh stack**: a stack of its own (private ``CTT_STATE_DIR``) is
started, and the first `ctt run` of the spec on it is timed (cold gateway, cold TaskManager).
Targets (fast-feedback issue): warm CLI <= 2.0 s and <= 1.2x bare; first test <= 5 s.

    uv run python bench/runner.py [--runs 5] [--no-write]
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
import uuid
from pathlib import Path

from bench._common import machine, replace_section
from ctt.polling import Backoff

SPEC = Path(__file__).resolve().parents[1] / "specs" / "basic_field_transformation.yaml"


def bare(stack: object, rows: list[dict[str, object]]) -> float:
    from confluent_kafka import Producer

    from ctt.engines.local import LocalEngine
    from ctt.kafka.admin import TopicAdmin
    from ctt.kafka.consume import TopicReader

    st = stack
    t0 = time.monotonic()
    src, dst = f"bare-{uuid.uuid4().hex[:8]}-src", f"bare-{uuid.uuid4().hex[:8]}-dst"
    admin = TopicAdmin(st.bootstrap_servers)  # type: ignore[attr-defined]
    admin.create({src: 1, dst: 1})
    eng = LocalEngine(st.gateway_url, st.flink_rest_url)  # type: ignore[attr-defined]
    bs = st.bootstrap_servers  # type: ignore[attr-defined]
    eng.run(
        "CREATE TABLE source_users (user_id BIGINT, user_name STRING, age INT, event_timestamp TIMESTAMP(3))"
        f" WITH ('connector'='kafka','topic'='{src}','properties.bootstrap.servers'='{bs}',"
        f"'scan.startup.mode'='earliest-offset','format'='json','scan.bounded.mode'='specific-offsets',"
        f"'scan.bounded.specific-offsets'='partition:0,offset:{len(rows)}')"
    )
    eng.run(
        "CREATE TABLE transformed_users (user_id BIGINT, user_name_upper STRING, event_timestamp TIMESTAMP(3),"
        f" age_category STRING) WITH ('connector'='kafka','topic'='{dst}','properties.bootstrap.servers'='{bs}',"
        "'format'='json')"
    )
    handle = eng.submit(
        "INSERT INTO transformed_users SELECT user_id, UPPER(user_name), event_timestamp,"
        " CASE WHEN age >= 18 THEN 'adult' ELSE 'minor' END FROM source_users",
        name="bare-bench",
    )
    backoff = Backoff(0.1)
    while not eng.running_tasks(handle):
        backoff.wait()
    p = Producer(
        {"bootstrap.servers": bs, "acks": "all", "max.in.flight.requests.per.connection": 1}
    )
    for r in rows:
        p.produce(src, json.dumps(r).encode())
    p.flush(30)
    backoff = Backoff(0.1)
    while eng.rest.state(handle.job_id or "") != "FINISHED":
        backoff.wait()
    reader = TopicReader(bs, [dst])
    reader.read_to_end(deadline_s=30)
    reader.close()
    assert len(reader.records) == len(rows)
    eng.delete(handle)
    eng.close()
    admin.delete([src, dst])
    return time.monotonic() - t0


def cli(env: dict[str, str] | None = None) -> float:
    """`ctt run SPEC` in a fresh process, as a user runs it; its wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ctt",
                "run",
                str(SPEC),
                "--junit",
                f"{tmp}/j.xml",
                "--results",
                f"{tmp}/r.json",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        took = time.monotonic() - t0
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return took


def first_on_fresh_stack() -> tuple[float, float]:
    """(stack start to healthy, first `ctt run` of the spec) on a stack of its own."""
    from ctt.stack.supervisor import LocalStack

    with tempfile.TemporaryDirectory(prefix="ctt-bench-fresh-") as state:
        env = {**os.environ, "CTT_STATE_DIR": state}
        old = os.environ.get("CTT_STATE_DIR")
        os.environ["CTT_STATE_DIR"] = state
        try:
            t0 = time.monotonic()
            LocalStack().up()
            started = time.monotonic() - t0
            first = cli(env)
        finally:
            LocalStack().down()
            if old is None:
                os.environ.pop("CTT_STATE_DIR", None)
            else:
                os.environ["CTT_STATE_DIR"] = old
    return started, first


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    import yaml

    from ctt.flinktest.runner import FlinkTestRunner
    from ctt.stack.supervisor import LocalStack
    from ctt.validate.registry import load_spec

    st, _ = LocalStack().up()
    rows = yaml.safe_load(SPEC.read_text())["flink_transformation_tests"][
        "basic_field_transformation"
    ]["test_data"]["source_users"]["rows"]
    tests = load_spec(SPEC)
    loads = [os.getloadavg()[0]]
    cli_times, ctt_times, bare_times = [], [], []
    for i in range(args.runs):  # interleaved, so load drifts hit all three alike
        cli_times.append(cli())
        t0 = time.monotonic()
        report = FlinkTestRunner(st).run(tests)
        ctt_times.append(time.monotonic() - t0)
        assert report.tests[0].status.value == "passed", report.tests[0].message
        bare_times.append(bare(st, rows))
        loads.append(os.getloadavg()[0])
        print(
            f"run {i + 1}: cli {cli_times[-1]:.2f}s, runner {ctt_times[-1]:.2f}s, "
            f"bare {bare_times[-1]:.2f}s"
        )
    started, first = first_on_fresh_stack()
    loads.append(os.getloadavg()[0])
    c, r, b = (statistics.median(x) for x in (cli_times, ctt_times, bare_times))

    def all_of(xs: list[float]) -> str:
        return ", ".join(f"{t:.2f}" for t in xs)

    body = f"""
| measure | result | target |
|---|---|---|
| `ctt run specs/basic_field_transformation.yaml`, fresh process, warm stack (median of {args.runs}) | **{c:.2f} s** | <= 2.0 s |
| the same test through `FlinkTestRunner` in-process (median) | {r:.2f} s | |
| the same SQL and rows bare through the gateway (median) | {b:.2f} s | |
| ctt CLI / bare | **{c / b:.2f}x** | <= 1.2x |
| ctt runner / bare | {r / b:.2f}x | |
| first `ctt run` on a fresh stack (after start to healthy in {started:.1f} s) | **{first:.2f} s** | <= 5 s |

All runs: CLI {all_of(cli_times)} s; runner {all_of(ctt_times)} s; bare {all_of(bare_times)} s.
Load average (1 min) at the start, after each round and after the fresh stack:
{", ".join(f"{x:.1f}" for x in loads)} on {os.cpu_count()} cores. The stack's settings are the
same for all three (`web.refresh-interval` 100 ms, `metrics.fetcher.update-interval` 200 ms);
the CLI pays the Python start (imports, see "Start-up") and writes JUnit and results files.
"""
    if not args.no_write:
        replace_section("Flink test runner", body, "uv run python bench/runner.py", machine())
    print(body)


if __name__ == "__main__":
    main()

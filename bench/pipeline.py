"""Wall time of the GitLab pipeline, run by gitlab-ci-local as the e2e tests run it.

    uv run python bench/pipeline.py [--full] [--no-write]

Runs the e2e tests of tests/e2e/test_gitlab_pipeline.py through pytest: the smart merge request
pipeline (one Flink template changed: the real Flink suite and the unit tests, then aggregate and
gate) and, with ``--full``, the main-branch pipeline that runs every shipped suite. The pipelines
run in a temporary repository with the shipped catalogue, on a stack of their own (a private
``CTT_STATE_DIR``, stopped at the end), so the figure is what a team's runner spends. The time per
pipeline is its test case's time in the JUnit report (copying the repository and reading the
artifacts included, a few seconds). Writes "GitLab pipeline wall time" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from bench._common import machine, replace_section

ROOT = Path(__file__).resolve().parents[1]
HEAD = "GitLab pipeline wall time (bench/pipeline.py)"
TESTS = {
    "test_merge_request_changing_a_template_runs_the_real_flink_suite_and_passes_the_gate": (
        "merge request, one Flink template changed (smart selection)"
    ),
    "test_main_branch_pipeline_runs_every_shipped_suite_green": "main branch, every shipped suite",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="also the main-branch full pipeline")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    names = list(TESTS) if args.full else list(TESTS)[:1]
    with tempfile.TemporaryDirectory(prefix="ctt-bench-pipeline-") as tmp:
        state = Path(tmp) / "stack"
        env = {**os.environ, "CTT_STATE_DIR": str(state), "CTT_E2E_FULL_PIPELINE": "1"}
        junit = Path(tmp) / "junit.xml"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "tests/e2e/test_gitlab_pipeline.py",
            "-m",
            "e2e",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            " or ".join(names),
            "--junitxml",
            str(junit),
        ]
        load_before = os.getloadavg()[0]
        t0 = time.monotonic()
        try:
            done = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
        finally:
            subprocess.run(
                [sys.executable, "-m", "ctt", "stack", "down"], cwd=ROOT, env=env, check=False
            )
        wall = time.monotonic() - t0
        load_after = os.getloadavg()[0]
        cases = {
            c.get("name", ""): (float(c.get("time", "0")), _status(c))
            for c in ET.parse(junit).getroot().iter("testcase")
        }
    rows = [
        f"| {TESTS[name]} | {cases[name][1]} | {cases[name][0] / 60:.1f} min |"
        for name in names
        if name in cases
    ]
    body = "\n".join(
        [
            "| pipeline | verdict | wall time |",
            "|---|---|---|",
            *rows,
            "",
            f"Whole benchmark (stack start and stop included): {wall / 60:.1f} min. "
            f"Load average (1 min) before and after: {load_before:.1f}, {load_after:.1f} on "
            f"{os.cpu_count()} cores.",
            "",
            "The pipelines run with gitlab-ci-local's shell executor in a temporary copy of the "
            "repository: every job creates its own environment with `uv sync` (the uv cache is "
            "shared), so a real runner with a warm cache spends about the same.",
        ]
    )
    print(body)
    if not args.no_write:
        replace_section(HEAD, body, "uv run python bench/pipeline.py --full", machine())
    return done.returncode


def _status(case: ET.Element) -> str:
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    return "skipped" if case.find("skipped") is not None else "passed"


if __name__ == "__main__":
    sys.exit(main())

"""Kafka -> Flink -> topic end to end, as a user runs it: `ctt run SPEC --junit FILE` from a shell.

The ``e2e_connector_flow`` suite (continuous-testing/config/suites.yaml) runs this file
with the connector flow's tests (tests/integration/test_sink.py). One spec holds two tests of the same SQL: one whose expected rows
are right, one whose expected rows carry a wrong value. The run must pass the first,
fail the second with a row diff, and exit 1: a flow that silently drops or passes
everything fails here. The stack is the running one (the default state dir), as a
developer's `ctt run` finds it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
flink_transformation_tests:
  {name}:
    flink_sql: |
      CREATE TABLE priced AS
      SELECT order_id, UPPER(sku) AS sku, qty * 2 AS doubled FROM orders;
    tables:
      orders:
        schema: {{order_id: BIGINT, sku: STRING, qty: INT}}
        key: order_id
    test_data:
      orders:
        rows:
          - {{order_id: 1, sku: ab, qty: 1}}
          - {{order_id: 2, sku: cd, qty: 5}}
          - {{order_id: 3, sku: ef, qty: 0}}
    expected:
      priced:
        rows:
          - {{order_id: 1, sku: AB, doubled: 2}}
          - {{order_id: 2, sku: CD, doubled: {second}}}
          - {{order_id: 3, sku: EF, doubled: 0}}
    validation:
      - output_schema_match: true
      - rows_match: true
"""


def test_ctt_run_passes_the_right_expectation_and_fails_the_wrong_one(tmp_path: Path) -> None:
    spec = tmp_path / "flow.yaml"
    right = SPEC.format(name="doubles_quantities", second=10)
    wrong = SPEC.format(name="expects_a_wrong_row", second=11).split("\n", 1)[1]
    spec.write_text(right + wrong)
    junit = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITLAB_CI")}
    done = subprocess.run(
        [sys.executable, "-m", "ctt", "run", str(spec), "--junit", str(junit)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 1, log[-3000:]
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {"doubles_quantities", "expects_a_wrong_row"}, log[-3000:]
    ok, bad = cases["doubles_quantities"], cases["expects_a_wrong_row"]
    assert ok.find("failure") is None and ok.find("error") is None, ET.tostring(ok)[:2000]
    failure = bad.find("failure")
    assert failure is not None, ET.tostring(bad)[:2000]
    text = (failure.get("message") or "") + (failure.text or "")
    assert "11" in text and "10" in text, text[:2000]  # the diff names expected and actual
    assert "PASSED" in log and "FAILED" in log

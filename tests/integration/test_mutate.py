"""`ctt mutate` on the real stack, run as a user runs it: the CLI, JSON on stdout.

Kept to a handful of mutants (``--operator``, ``-k``, ``--max-mutants``) so it stays near two
minutes: each mutant is a full `ctt run` of the edited spec.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.integration.conftest import StackHandle, developer_env

ROOT = Path(__file__).resolve().parents[2]


def mutate(*args: str) -> tuple[int, dict[str, Any]]:
    res = subprocess.run(
        [sys.executable, "-m", "ctt", "mutate", *args, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.stdout, res.stderr[-3000:]
    return res.returncode, json.loads(res.stdout)


ORACLE_ONLY = """\
flink_transformation_tests:
  revenue_per_hour:
    flink_sql: |
      CREATE TABLE revenue AS
      SELECT product, window_start, window_end, SUM(amount) AS revenue, COUNT(*) AS orders
      FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(order_time), INTERVAL '1' HOUR))
      GROUP BY product, window_start, window_end;
    tables:
      orders:
        schema: {order_id: BIGINT, product: STRING, amount: INT, order_time: TIMESTAMP(3)}
        watermark: order_time - INTERVAL '5' SECOND
    test_data:
      orders:
        generate:
          count: 200
          time_range: "3 hours"
          fields:
            product: {enum: [apple, pear, plum]}
            amount: {min: 1, max: 50}
    expected:
      revenue: {key: [product, window_start]}
    validation:
      - window_count_accuracy: true
      - aggregation_correctness: true
"""


def test_oracle_only_spec_lets_a_mutant_survive_and_a_snapshot_kills_it(
    stack: StackHandle, tmp_path: Path
) -> None:
    """The oracle recomputes its expectation from the mutated SQL, so SUM -> MAX passes; once
    the output is recorded as a snapshot, the same mutant fails."""
    spec = tmp_path / "specs" / "revenue.yaml"
    spec.parent.mkdir()
    spec.write_text(ORACLE_ONLY, encoding="utf-8")
    args = (str(spec), "--operator", "aggregate_swap", "--max-mutants", "1")
    code, report = mutate(*args, "--min-score", "50")
    (score,) = report["specs"]
    (result,) = score["results"]
    assert result["mutant"]["label"] == "SUM -> MAX"
    assert result["status"] == "survived"
    assert (score["killed"], score["survived"], score["score"]) == (0, 1, 0.0)
    assert report["below_min_score"] == [str(spec)]
    assert code == 1  # --min-score 50 not reached

    recorded = subprocess.run(
        [sys.executable, "-m", "ctt", "run", str(spec), "--update-snapshots"],
        cwd=tmp_path,
        env=developer_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert recorded.returncode == 0, recorded.stdout[-2000:] + recorded.stderr[-2000:]
    assert list((spec.parent / "__snapshots__").rglob("*.snap"))
    code, report = mutate(*args)
    ((result,),) = [s["results"] for s in report["specs"]]
    assert result["status"] == "killed"
    assert "snapshot_match" in result["detail"]
    assert code == 0


def test_explicit_rows_kill_a_case_boundary_mutant(stack: StackHandle) -> None:
    code, report = mutate("specs/basic_field_transformation.yaml", "--operator", "comparison")
    (spec,) = report["specs"]
    (result,) = spec["results"]
    assert result["mutant"]["label"] == "age >= 18 -> age > 18 (WHEN)"
    assert result["mutant"]["diff"] == [
        "-          WHEN age >= 18 THEN 'adult'",
        "+          WHEN age > 18 THEN 'adult'",
    ]
    assert result["status"] == "killed"
    assert "field_transformation_accuracy" in result["detail"]
    assert (spec["killed"], spec["survived"], spec["score"]) == (1, 0, 100.0)
    assert code == 0

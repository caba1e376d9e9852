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

from tests.integration.conftest import StackHandle

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


def test_oracle_spec_lets_an_aggregate_swap_survive(stack: StackHandle) -> None:
    """The oracle recomputes expectations from the mutated SQL: SUM -> MAX passes today."""
    code, report = mutate(
        "specs/windows/tumble_aggregates.yaml",
        "-k",
        "tumble_tvf",
        "--operator",
        "aggregate_swap",
        "--max-mutants",
        "3",
        "--min-score",
        "50",
    )
    (spec,) = report["specs"]
    assert (spec["mutants"], spec["killed"], spec["survived"], spec["errored"]) == (3, 0, 3, 0)
    assert spec["score"] == 0.0
    survivors = [r["mutant"]["description"] for r in spec["results"] if r["status"] == "survived"]
    assert "SUM -> MAX at specs/windows/tumble_aggregates.yaml:41:9" in survivors
    assert report["below_min_score"] == ["specs/windows/tumble_aggregates.yaml"]
    assert code == 1  # --min-score 50 not reached


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

"""Scheduled pipelines run with gitlab-ci-local: ``schedule-due`` decides from the shipped
schedules.yaml, ``select-tests`` follows its dotenv report, and a maintenance window turns the
run into a one-job child that says why. Same fixtures as test_gitlab_pipeline.py (the shipped
suite names as cheap command suites)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_gitlab_pipeline import _run_pipeline, base_repo  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e


def test_a_weekday_schedule_runs_its_suites_and_reports_against_its_last_good_run(
    base_repo: Path,  # noqa: F811
) -> None:
    run = _run_pipeline(
        base_repo,
        {
            "CI_PIPELINE_SOURCE": "schedule",
            "CTT_SCHEDULE": "weekday-flink",
            "CTT_SCHEDULE_AT": "2026-12-02T05:35:00Z",  # Wednesday 06:35 in Berlin
        },
    )
    assert run.verdicts.get("schedule-due") == "PASS", run.log[-4000:]
    decision = json.loads(run.artifact("schedule-due", "schedule-decision.json").read_text())
    assert [(d["schedule"], d["action"]) for d in decision["decisions"]] == [
        ("weekday-flink", "run")
    ]
    plan = json.loads(run.artifact("select-tests", "test-execution-plan.json").read_text())
    assert plan["mode"] == "manual"
    assert set(plan["suites"]) == {"flink_transformation_tests", "all_unit_tests"}
    assert run.verdicts.get("aggregate-results") == "PASS", run.log[-4000:]
    assert "weekday-flink: no good run of this schedule yet" in run.log
    prom = run.artifact("aggregate-results", "ctt-metrics.prom").read_text()
    assert 'ctt_pass_rate{branch="main",schedule="weekday-flink"} 1.0' in prom


def test_a_schedule_in_a_maintenance_window_is_deferred_with_its_reason(
    base_repo: Path,  # noqa: F811
) -> None:
    run = _run_pipeline(
        base_repo,
        {
            "CI_PIPELINE_SOURCE": "schedule",
            "CTT_SCHEDULE": "nightly-full",
            "CTT_SCHEDULE_AT": "2026-12-06T02:05:00Z",  # Sunday: Kafka patching
        },
    )
    assert run.verdicts.get("schedule-due") == "PASS", run.log[-4000:]
    assert run.verdicts.get("select-tests") == "PASS", run.log[-4000:]
    decision = json.loads(run.artifact("schedule-due", "schedule-decision.json").read_text())
    (d,) = decision["decisions"]
    assert (d["action"], d["deferred_until"]) == ("defer", "2026-12-06T05:00:00Z")
    child = yaml.safe_load(run.artifact("select-tests", "child-pipeline.yml").read_text())
    assert set(child) == {"stages", "default", "scheduled-run-not-started"}
    assert "shared Kafka cluster is patched on Sunday nights" in run.log
    assert not any(job.startswith("test:") for job in run.verdicts)

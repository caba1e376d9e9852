from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ctt.ci.plan import build_plan, child_pipeline, load_plan, simulate_wall_clock
from ctt.ci.select import run_select
from ctt.ci.selection import SelectionMode
from ctt.ci.selection_history import JsonHistory, StoreHistory
from ctt.errors import UsageError
from tests.unit.ci._fixture import changes, make_repo, selector


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_repo(tmp_path)
    return tmp_path


def test_wall_clock_respects_workers_and_dependencies() -> None:
    durations = {"a": 10.0, "b": 10.0, "c": 10.0, "d": 5.0}
    assert simulate_wall_clock(durations, {}, workers=4) == 10.0
    assert simulate_wall_clock(durations, {}, workers=1) == 35.0
    assert simulate_wall_clock(durations, {"d": ["a"]}, workers=4) == 15.0
    # longest tail first: the chain a->d starts before the independent b and c
    assert simulate_wall_clock(durations, {"d": ["a"]}, workers=2) == 20.0


def test_plan_groups_durations_and_critical_path(root: Path) -> None:
    sel = selector(root)
    history = JsonHistory(set(), {"connector_tests": 600.0, "rbac_tests": 120.0})
    selection = sel.select(SelectionMode.FULL)
    plan = build_plan(selection, sel.ctx.catalogue, sel.ctx.config, history=history)
    assert plan.parallel_limit == 2
    assert all(len(g) <= 2 for g in plan.parallel_groups)
    flat = [n for g in plan.parallel_groups for n in g]
    assert sorted(flat) == sorted(plan.suites)
    assert flat.index("rbac_tests") < flat.index("connector_tests")
    assert plan.sequential_dependencies == {"connector_tests": ["rbac_tests"]}
    assert plan.critical_path == ["rbac_tests", "connector_tests"]
    est = plan.estimated_duration
    assert est.critical_path_seconds == 720.0
    assert est.per_suite["connector_tests"] == 600.0
    assert plan.detail("connector_tests").duration_source == "history"
    assert plan.detail("job_tests").duration_source == "timeout"  # 2m timeout < 5m default
    assert plan.detail("unit").estimated_duration == 300.0
    assert est.total_seconds == sum(est.per_suite.values())
    assert est.critical_path_seconds <= est.wall_clock_seconds <= est.total_seconds
    assert plan.retry_failed_tests == 1 and plan.timeout_per_test == 1800.0
    assert plan.stats.skipped == 0


def test_plan_file_is_readable_by_the_executor(
    root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sel = selector(root)
    selection = sel.select(SelectionMode.SMART, changes("terraform/modules/topics/main.tf"))
    plan = build_plan(selection, sel.ctx.catalogue, sel.ctx.config, parallel_limit=7)
    out = tmp_path_factory.mktemp("p") / "test-execution-plan.json"
    out.write_text(plan.model_dump_json(indent=2))
    loaded = load_plan(out)
    assert loaded.suites == plan.suites and loaded.parallel_limit == 7
    assert loaded.sequential_dependencies == {"connector_tests": ["rbac_tests"]}
    assert plan.stats.skipped_share == pytest.approx(5 / 9)
    assert {s.name for s in plan.skipped} == {
        "enrich_specs",
        "agg_specs",
        "other_specs",
        "job_tests",
        "unit",
    }


def test_child_pipeline_has_one_job_per_suite_with_needs(root: Path) -> None:
    sel = selector(root)
    selection = sel.select(SelectionMode.MANUAL, tests=["connector_tests"])
    plan = build_plan(selection, sel.ctx.catalogue, sel.ctx.config)
    template = {"image": "python:3.11", "stages": ["suites"], ".ctt-suite-terraform": {}}
    doc = yaml.safe_load(child_pipeline(plan, template))
    assert doc["image"] == "python:3.11"
    job = doc["test:connector_tests"]
    assert job["extends"] == [".ctt-suite-terraform"]
    assert job["stage"] == "suites"
    retries = plan.retry_failed_tests
    assert job["script"] == [f"ctt run --suite connector_tests --retries {retries}"]
    assert json.loads(doc["variables"]["CTT_PLANNED_SUITES"]) == plan.suites
    assert job["needs"] == ["test:rbac_tests"]
    assert job["artifacts"]["reports"]["junit"] == "test-results/junit-connector_tests.xml"
    assert doc["test:rbac_tests"]["needs"] == []
    empty = selection.__class__(SelectionMode.SMART, {}, [], [], [])
    none = yaml.safe_load(child_pipeline(build_plan(empty, sel.ctx.catalogue, sel.ctx.config)))
    assert "no-tests-selected" in none  # GitLab rejects a pipeline without jobs


def test_run_select_reads_the_analysis_file(root: Path) -> None:
    analysis_file = root / "change-analysis.json"
    analysis_file.write_text(changes("ctt/core/x.py").model_dump_json())
    kw = {
        "selection_file": root / "conf/test-selection.yaml",
        "suites_file": root / "conf/suites.yaml",
    }
    _sel, plan = run_select(root, SelectionMode.SMART, analysis_file=analysis_file, **kw)
    assert plan.suites == ["unit", "smoke"]
    with pytest.raises(UsageError, match="manual mode"):
        run_select(root, SelectionMode.SMART, analysis_file=analysis_file, tests=["unit"], **kw)


def test_store_history_adapter_reads_the_history_database(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from ctt.ci.history import HistoryStore, runs_t, suites_t

    db = tmp_path / "history.sqlite"
    now = datetime.now(UTC)
    with HistoryStore.open(db) as store, store.engine.begin() as conn:
        for i, (status_a, status_b) in enumerate([("failed", "passed"), ("passed", "failed")]):
            run_id = conn.execute(
                sa.insert(runs_t).values(
                    run_key=f"r{i}", created_at=now + timedelta(minutes=i), branch="main"
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.insert(suites_t),
                [
                    {"run_id": run_id, "name": "a", "status": status_a, "duration": 10.0 + i},
                    {"run_id": run_id, "name": "b", "status": status_b, "duration": 20.0},
                ],
            )
    history = StoreHistory(db, ["a", "b"], branch="main")
    assert history.last_failed_suites() == {"b"}  # a failed first, then passed
    assert history.median_durations() == {"a": 11.0, "b": 20.0}

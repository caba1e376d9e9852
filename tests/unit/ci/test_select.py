from __future__ import annotations

from pathlib import Path

import pytest

from ctt.ci.analysis import ChangeAnalysis
from ctt.ci.analyze import GitRepo, analyze, resolve_range
from ctt.ci.select import explain_lines, run_analyze
from ctt.ci.selection import SelectionMode
from ctt.ci.selection_history import JsonHistory
from ctt.errors import ConfigError, UsageError
from tests.unit.ci._fixture import changes, make_repo, selector
from tests.unit.ci._repo import Repo


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_repo(tmp_path)
    return tmp_path


def _smart(root: Path, *paths: str, **kw: object) -> set[str]:
    return set(selector(root, **kw).select(SelectionMode.SMART, changes(*paths)).selected)  # type: ignore[arg-type]


def test_template_change_selects_its_specs_and_those_downstream(root: Path) -> None:
    assert _smart(root, "flink/sql/transformations/enrich.sql") == {
        "enrich_specs",  # runs the template
        "agg_specs",  # reads topic events-enriched, which the template writes
        "smoke",  # always_run
    }


def test_downstream_template_change_does_not_select_upstream(root: Path) -> None:
    assert _smart(root, "flink/sql/transformations/agg.sql") == {"agg_specs", "smoke"}


def test_inline_sql_spec_change_selects_its_suite_and_downstream(root: Path) -> None:
    # other.yaml's own flink_sql writes out_t, which specs/agg/down.yaml reads
    assert _smart(root, "specs/other/other.yaml") == {"other_specs", "agg_specs", "smoke"}


def test_template_spec_change_selects_only_its_suite(root: Path) -> None:
    # the test data changed, not the transformation: nothing downstream is affected
    assert _smart(root, "specs/enrich/enrich.yaml") == {"enrich_specs", "smoke"}


def test_module_change_selects_users_of_the_module_and_their_requirements(root: Path) -> None:
    assert _smart(root, "terraform/modules/topics/main.tf") == {
        "topic_tests",  # path rule and suite path
        "connector_tests",  # module "topics" { source = "../topics" }
        "rbac_tests",  # connector_tests requires it
        "smoke",
    }


def test_file_read_by_templatefile_selects_the_module(root: Path) -> None:
    assert _smart(root, "flink/modules/flink-job/sql/job.sql") == {"job_tests", "smoke"}


def test_glob_rule(root: Path) -> None:
    assert _smart(root, "ctt/core/x.py") == {"unit", "smoke"}


def test_global_path_selects_everything(root: Path) -> None:
    sel = selector(root)
    result = sel.select(SelectionMode.SMART, changes(".gitlab-ci.yml"))
    assert set(result.selected) == set(sel.ctx.catalogue.suites)
    assert result.selected["unit"][0].method == "global_path"
    assert set(_smart(root, "sub/poetry.lock")) == set(sel.ctx.catalogue.suites)


def test_unmapped_and_dead_end_files_are_reported(root: Path) -> None:
    sel = selector(root)
    result = sel.select(
        SelectionMode.SMART, changes("README.md", "flink/sql/transformations/orphan.sql")
    )
    assert set(result.selected) == {"smoke"}
    assert result.unmapped == ["README.md", "flink/sql/transformations/orphan.sql"]
    assert any("map to no suite" in w for w in result.warnings)


def test_unmapped_all_policy_runs_everything(tmp_path: Path) -> None:
    from tests.unit.ci._fixture import SELECTION

    make_repo(
        tmp_path,
        {
            "conf/test-selection.yaml": SELECTION.replace(
                '"*.lock"]', '"*.lock"]\n    unmapped: all'
            )
        },
    )
    sel = selector(tmp_path)
    result = sel.select(SelectionMode.SMART, changes("README.md"))
    assert len(result.selected) == len(sel.ctx.catalogue.suites)


def test_renamed_file_counts_old_and_new_paths(root: Path) -> None:
    analysis = changes("specs/other/renamed.yaml")
    analysis.files[0].old_path = "specs/agg/agg.yaml"
    result = selector(root).select(SelectionMode.SMART, analysis)
    assert {"other_specs", "agg_specs"} <= set(result.selected)


def test_previous_failures_are_rerun(root: Path) -> None:
    history = JsonHistory({"rbac_tests", "gone_suite"}, {})
    assert _smart(root, "README.md", history=history) == {"rbac_tests", "smoke"}


def test_full_and_manual_modes(root: Path) -> None:
    sel = selector(root)
    assert len(sel.select(SelectionMode.FULL).selected) == 9
    manual = sel.select(SelectionMode.MANUAL, tests=["connector_tests"])
    assert set(manual.selected) == {"connector_tests", "rbac_tests"}
    with pytest.raises(UsageError, match="did you mean 'rbac_tests'"):
        sel.select(SelectionMode.MANUAL, tests=["rbac_test"])
    with pytest.raises(UsageError, match="needs --tests"):
        sel.select(SelectionMode.MANUAL, tests=[])
    with pytest.raises(UsageError, match="ctt analyze"):
        sel.select(SelectionMode.SMART, None)


def test_explain_names_change_rule_and_why_skipped(root: Path) -> None:
    result = selector(root).select(
        SelectionMode.SMART, changes("flink/sql/transformations/enrich.sql")
    )
    agg = result.selected["agg_specs"][0]
    assert agg.change == "flink/sql/transformations/enrich.sql"
    assert agg.method == "lineage"
    assert any("writes topic:events-enriched" in s for s in agg.steps)
    assert any("reads topic:events-enriched" in s for s in agg.steps)
    skipped = {s.name: s for s in result.skipped}
    assert "topic_tests" in skipped
    assert any(
        "path rule 'terraform/modules/topics/'" in t for t in skipped["topic_tests"].triggers
    )
    assert any("required by 'connector_tests'" in t for t in skipped["rbac_tests"].triggers)
    text = "\n".join(explain_lines(result))
    assert "+ agg_specs" in text and "- topic_tests" in text and "test-selection.yaml:4" in text


def test_seed_path_that_matches_nothing_is_a_warning(root: Path) -> None:
    warnings = selector(root).ctx.warnings
    assert any("'flink-sql/'" in w and "matches no file" in w for w in warnings)


def test_unknown_suite_in_selection_is_a_config_error_with_line(tmp_path: Path) -> None:
    from tests.unit.ci._fixture import SELECTION

    make_repo(tmp_path, {"conf/test-selection.yaml": SELECTION.replace("rbac_tests", "rbac_test")})
    with pytest.raises(ConfigError) as exc:
        selector(tmp_path)
    assert exc.value.line == 13
    assert "rbac_tests" in str(exc.value)  # the suggestion


def test_dependency_cycle_is_a_config_error(tmp_path: Path) -> None:
    from tests.unit.ci._fixture import SELECTION

    cyclic = SELECTION.replace(
        '      requires: ["rbac_tests"]\n',
        '      requires: ["rbac_tests"]\n    rbac_tests:\n      requires: ["topic_tests"]\n'
        '    topic_tests:\n      requires: ["connector_tests"]\n',
    )
    make_repo(tmp_path, {"conf/test-selection.yaml": cyclic})
    with pytest.raises(ConfigError, match="cycle") as exc:
        selector(tmp_path)
    assert exc.value.line is not None


def test_end_to_end_from_a_real_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    (tmp_path / "specs/other/other.yaml").rename(tmp_path / "specs/other/renamed other.yaml")
    repo.commit(
        {"flink/sql/transformations/agg.sql": "INSERT INTO summary SELECT 1 FROM enriched;"}
    )
    git = GitRepo(tmp_path)
    sel = selector(tmp_path)
    analysis = analyze(git, resolve_range(git, base, env={}), components=sel.components)
    assert "sql:flink/sql/transformations/agg.sql" in analysis.components
    result = sel.select(SelectionMode.SMART, analysis)
    assert set(result.selected) == {"agg_specs", "other_specs", "smoke"}


def test_cli_analyze_then_select(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from ctt.cli import app

    repo = make_repo(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    repo.commit({"terraform/modules/topics/main.tf": "# changed\n"})
    for var in (
        "CI_MERGE_REQUEST_DIFF_BASE_SHA",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
        "CI_COMMIT_BEFORE_SHA",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    conf = ["--config", "conf/test-selection.yaml", "--suites", "conf/suites.yaml"]
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", "--base", base, *conf], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    analysis = json.loads((tmp_path / "change-analysis.json").read_text())
    assert analysis["modified_files"] == ["terraform/modules/topics/main.tf"]
    res = runner.invoke(
        app,
        ["select", "--explain", "--child-pipeline", "child.yml", *conf],
        catch_exceptions=False,
        env={"TEST_SELECTION_MODE": "smart"},
    )
    assert res.exit_code == 0, res.output
    assert "+ connector_tests" in res.output and "- enrich_specs" in res.output
    plan = json.loads((tmp_path / "test-execution-plan.json").read_text())
    assert set(plan["suites"]) == {"topic_tests", "connector_tests", "rbac_tests", "smoke"}
    assert "test:connector_tests" in (tmp_path / "child.yml").read_text()


def test_upstream_change_flows_through_a_template_run_to_later_stages(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "flink/sql/transformations/report.sql": "INSERT INTO {{ out }} SELECT * FROM {{ src }}",
            "specs/other/report.yaml": (
                "t:\n  report:\n    sql_template: flink/sql/transformations/report.sql\n"
                "    params: {src: s, out: o}\n"
                "    tables: {s: {topic: summary}, o: {topic: report}}\n"
            ),
        },
    )
    # enrich writes events-enriched -> agg (a template run) writes summary -> report
    assert _smart(tmp_path, "flink/sql/transformations/enrich.sql") == {
        "enrich_specs",
        "agg_specs",
        "other_specs",
        "smoke",
    }
    # but editing agg's spec (its test data) stays local
    assert _smart(tmp_path, "specs/agg/agg.yaml") == {"agg_specs", "smoke"}


def test_template_named_below_flink_sql_selects_its_suite(tmp_path: Path) -> None:
    """``sql_template: transformations/x.sql`` (the documented form) is flink/sql/transformations/x.sql.

    Selection resolves it as the runner does; before, the template counted as
    unmapped and, under ``unmapped: warn``, the suite that runs it was skipped.
    """
    make_repo(
        tmp_path,
        {
            "flink/sql/transformations/rollup.sql": (
                "INSERT INTO {{ sink }} SELECT user_id, COUNT(*) FROM {{ source }} GROUP BY user_id"
            ),
            "specs/other/rollup.yaml": (
                "flink_transformation_tests:\n  rollup:\n"
                "    sql_template: transformations/rollup.sql\n"
                "    params: {source: clicks, sink: rollup}\n"
                "    tables: {clicks: {schema: {user_id: BIGINT}}}\n"
            ),
        },
    )
    result = selector(tmp_path).select(
        SelectionMode.SMART, changes("flink/sql/transformations/rollup.sql")
    )
    assert set(result.selected) == {"other_specs", "smoke"}
    assert result.unmapped == []
    assert any(
        "runs template flink/sql/transformations/rollup.sql" in s
        for r in result.selected["other_specs"]
        for s in r.steps
    )


def test_a_spec_that_does_not_validate_still_selects_through_its_template(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "specs/other/broken.yaml": (
                "flink_transformation_tests:\n  broken:\n"
                "    sql_template: flink/sql/transformations/agg.sql\n"
                "    timeout: soon\n    tabels: {}\n"
            ),
        },
    )
    assert _smart(tmp_path, "flink/sql/transformations/agg.sql") == {
        "agg_specs",
        "other_specs",
        "smoke",
    }


def test_every_shipped_template_selects_a_suite_with_the_shipped_rules() -> None:
    from ctt.ci.select import load_selector
    from ctt.ci.selection_inputs import repo_files

    root = Path(__file__).resolve().parents[3]
    conf = root / "continuous-testing/config"
    sel = load_selector(root, conf / "test-selection.yaml", conf / "suites.yaml")
    templates = sorted(f for f in repo_files(root).under("flink/sql") if f.endswith(".sql"))
    assert templates
    for template in templates:
        result = sel.select(SelectionMode.SMART, changes(template))
        assert "flink_transformation_tests" in result.selected, template
        assert result.unmapped == [], template


def test_run_analyze_maps_components_when_config_exists(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    base = repo.commit(
        {
            "sel.yaml": "test_selection:\n  change_detection:\n    paths:\n"
            "      - path: 'terraform/modules/topics/'\n        tests: [topic_tests]\n",
            "suites.yaml": "suites:\n  topic_tests: {kind: command, command: 'true'}\n",
            "terraform/modules/topics/main.tf": "",
        }
    )
    repo.commit({"terraform/modules/topics/main.tf": "# x\n"})
    analysis, _warnings = run_analyze(
        tmp_path,
        base=base,
        selection_file=tmp_path / "sel.yaml",
        suites_file=tmp_path / "suites.yaml",
    )
    assert analysis.files[0].components == ["module:terraform/modules/topics", "rule:0"]
    assert analysis.components == ["module:terraform/modules/topics", "rule:0"]
    again = ChangeAnalysis.model_validate_json(
        analysis.model_dump_json(exclude={"modified_files", "components"})
    )
    assert again.files == analysis.files

"""``ctt run``: argument combinations, one suite of a catalogue, and results deciding the exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ctt.commands import run as run_cmd
from ctt.commands._suites import run_suite
from ctt.console import Output
from ctt.errors import ConfigError, ExitCode, UsageError
from ctt.report.model import ErrorKind, RunNotPassed, Status, exit_code

JUNIT = (
    'printf \'<testsuites><testsuite name="s"><testcase classname="k" name="t1">%s'
    '</testcase><testcase classname="k" name="t2"/></testsuite></testsuites>\' \'{body}\''
    ' > "$CTT_JUNIT_PATH"'
)


def _args(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "plan": None,
        "suite": None,
        "catalogue": Path("suites.yaml"),
        "parallel_limit": None,
        "retries": None,
        "timeout": None,
        "fail_fast": False,
        "results_dir": Path("test-results"),
        "junit": None,
        "results": None,
        "parallel": None,
        "select": None,
        "keep_topics": False,
        "engine": "local",
    }
    return base | kw


@pytest.mark.parametrize(
    ("paths", "kw", "message"),
    [
        (None, {"plan": Path("p.json"), "suite": "s"}, "give --plan or --suite, not both"),
        ([Path("specs")], {"plan": Path("p.json")}, "cannot be combined with --plan/--suite"),
        (None, {"suite": "s", "timeout": "soon"}, "--timeout"),
        (None, {"engine": "spark"}, "--engine spark: give local, remote, confluent"),
    ],
)
def test_arguments_that_cannot_go_together_are_usage_errors(
    paths: list[Path] | None, kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message) as info:
        run_cmd.run(Output(quiet=True), paths, **_args(**kw))
    assert exit_code(info.value) is ExitCode.USAGE


def test_confluent_without_its_variables_stops_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("CONFLUENT_FLINK_API_KEY", "CONFLUENT_ORG_ID", "CONFLUENT_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(var, raising=False)
    spec = Path(__file__).resolve().parents[3] / "specs" / "basic_field_transformation.yaml"
    with pytest.raises(ConfigError, match=r"CONFLUENT_FLINK_API_KEY.*CONFLUENT_ORG_ID") as info:
        run_cmd.run(Output(quiet=True), [spec], **_args(engine="confluent"))
    assert exit_code(info.value) is ExitCode.USAGE


def test_a_given_cluster_makes_the_run_remote(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CTT_PROFILE", "CTT_GATEWAY_URL"):
        monkeypatch.delenv(var, raising=False)
    assert run_cmd.resolve_engine(None, None) == "local"
    assert run_cmd.resolve_engine(None, Path("cluster.yaml")) == "remote"
    monkeypatch.setenv("CTT_GATEWAY_URL", "http://gw:8083")
    assert run_cmd.resolve_engine(None, None) == "remote"
    assert run_cmd.resolve_engine("local", None) == "local"  # an explicit engine wins
    with pytest.raises(UsageError, match="--profile"):
        run_cmd.resolve_engine("confluent", Path("cluster.yaml"))


def test_remote_without_a_complete_cluster_stops_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CTT_GATEWAY_URL", "http://127.0.0.1:9")
    for var in ("CTT_PROFILE", "CTT_FLINK_REST_URL", "CTT_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(var, raising=False)
    spec = Path(__file__).resolve().parents[3] / "specs" / "basic_field_transformation.yaml"
    with pytest.raises(ConfigError, match="CTT_FLINK_REST_URL") as info:
        run_cmd.run(Output(quiet=True), [spec], **_args(engine=None))
    assert exit_code(info.value) is ExitCode.USAGE


def _catalogue(tmp_path: Path) -> Path:
    cat = tmp_path / "suites.yaml"
    suites = {
        "good": {"kind": "command", "command": JUNIT.format(body="")},
        "bad": {"kind": "command", "command": JUNIT.format(body='<failure message="x"/>')},
    }
    cat.write_text(yaml.safe_dump({"suites": suites}))
    return cat


def test_one_suite_of_the_catalogue_and_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cat = _catalogue(tmp_path)
    out = Output(quiet=True)
    report = run_suite(out, "good", catalogue=cat, results_dir=tmp_path / "r")
    assert report.ok and report.summary.total == 2 and report.summary.passed == 2
    with pytest.raises(RunNotPassed, match="1 of 1 suites did not pass: bad") as info:
        run_suite(out, "bad", catalogue=cat, results_dir=tmp_path / "r")
    assert exit_code(info.value) is ExitCode.TESTS_FAILED
    assert [r.status for r in info.value.results] == [Status.FAILED]
    with pytest.raises(UsageError, match="did you mean 'good'"):
        run_suite(out, "goood", catalogue=cat)


def test_a_broken_spec_is_an_error_result_that_exits_2(tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text("t:\n  x: [unclosed\n")
    tests, broken = run_cmd.load_all([spec])
    assert tests == [] and len(broken) == 1
    assert broken[0].status is Status.ERROR and broken[0].error_kind is ErrorKind.CONFIG
    assert exit_code(broken) is ExitCode.USAGE

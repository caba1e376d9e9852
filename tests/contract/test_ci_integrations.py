"""``ctt schedule sync``, ``ctt trigger``, ``ctt notify`` and ``ctt metrics export`` run as a user
runs them (``ctt.cli.main`` with arguments and environment) against local servers that
implement GitLab's, Slack's, Teams', the pushgateway's and OTLP/HTTP's endpoints."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctt import cli
from ctt.report.metrics import (
    FailureEntry,
    FlakyEntry,
    NewFailures,
    PerformanceEntry,
    TestMetrics,
    Totals,
    write_metrics,
)
from ctt.report.results import RunMeta, SuiteSummary
from tests.contract.ci_servers import (
    GitLabServer,
    OtlpServer,
    PushgatewayServer,
    SlackServer,
    TeamsServer,
)

TOKEN = "glpat-S3cretT0kenValue"
TRIGGER = "glptt-TriggerS3cret"

SCHEDULES = """\
schedules:
  nightly:
    cron: "0 2 * * *"
    ref: main
    variables: {PARALLEL_EXECUTION_LIMIT: "4"}
  smoke:
    cron: "*/30 * * * *"
    mode: manual
    suites: [unit]
"""


def ctt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the ``ctt`` entry point; (exit code, stdout, stderr)."""
    old = sys.argv
    sys.argv = ["ctt", *args]
    try:
        with pytest.raises(SystemExit) as info:
            cli.main()
    finally:
        sys.argv = old
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.fixture
def gitlab(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitLabServer]:
    server = GitLabServer(TOKEN, TRIGGER)
    monkeypatch.setenv("CI_API_V4_URL", server.api)
    monkeypatch.setenv("CI_PROJECT_ID", str(GitLabServer.PROJECT))
    monkeypatch.setenv("CTT_GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("CTT_TRIGGER_TOKEN", TRIGGER)
    monkeypatch.delenv("CI_JOB_TOKEN", raising=False)
    with server.running():
        yield server


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in (
        "CI_MERGE_REQUEST_IID",
        "CTT_MR_IID",
        "CI_JOB_URL",
        "CI_PIPELINE_URL",
        "CTT_SCHEDULE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("CTT_SLACK_WEBHOOK_URL", "CTT_TEAMS_WEBHOOK_URL", "CTT_PUSHGATEWAY_URL"):
        monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "continuous-testing" / "config"
    cfg.mkdir(parents=True)
    (cfg / "schedules.yaml").write_text(SCHEDULES)
    (cfg / "suites.yaml").write_text("suites:\n  unit: {kind: command, command: 'true'}\n")
    (cfg / "quality-gates.yaml").write_text(
        "quality_gates:\n  mode: blocking\n  min_pass_rate: 99%\n  no_new_failures: true\n"
    )
    return tmp_path


def _metrics(path: Path, *, failed: bool) -> None:
    suites = [
        SuiteSummary(
            name="unit",
            kind="command",
            status="failed" if failed else "passed",
            duration=12.5,
            tests=3,
            passed=2 if failed else 3,
            failed=int(failed),
        ),
    ]
    write_metrics(
        TestMetrics(
            generated_at=datetime(2026, 12, 2, 22, 0, tzinfo=UTC),
            run=RunMeta(
                run_key="pipeline-9",
                created_at=datetime(2026, 12, 2, 21, 50, tzinfo=UTC),
                branch="feature/x",
                target_branch="main",
            ),
            totals=Totals(
                tests=3,
                passed=2 if failed else 3,
                failed=int(failed),
                flaky=1,
                pass_rate=2 / 3 if failed else 1.0,
                flaky_share=1 / 3,
            ),
            suites=suites,
            failures=[
                FailureEntry(
                    suite="unit", test="k::test_sum", status="failed", message="expected 3 | got 4"
                )
            ]
            if failed
            else [],
            new_failures=NewFailures(
                target_branch="main",
                baseline_run="pipeline-8",
                tests=["unit::k::test_sum"] if failed else [],
            ),
            flaky_tests=[
                FlakyEntry(
                    suite="unit", test="k::test_retry", attempts=2, history_runs=5, flakiness=0.4
                )
            ],
            performance=[
                PerformanceEntry(
                    suite="unit", duration=12.5, baseline_median=10.0, baseline_runs=5, change=0.25
                )
            ],
        ),
        path,
    )


# --- schedules ------------------------------------------------------------------------------


def test_sync_creates_then_leaves_alone_then_updates(
    gitlab: GitLabServer, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = ctt(capsys, "schedule", "sync")
    assert code == 0, err
    by_name = {s["variables"]["CTT_SCHEDULE"]["value"]: s for s in gitlab.schedules.values()}
    assert set(by_name) == {"nightly", "smoke"}
    nightly = by_name["nightly"]
    assert (nightly["cron"], nightly["ref"], nightly["description"]) == (
        "0 2 * * *",
        "main",
        "ctt: nightly",
    )
    assert nightly["variables"]["PARALLEL_EXECUTION_LIMIT"]["value"] == "4"

    writes = len([r for r in gitlab.requests if r.method != "GET"])
    code, out, _ = ctt(capsys, "schedule", "sync", "--json")
    assert code == 0
    assert {c["action"] for c in json.loads(out)} == {"unchanged"}
    assert len([r for r in gitlab.requests if r.method != "GET"]) == writes  # nothing written

    (workdir / "continuous-testing/config/schedules.yaml").write_text(
        SCHEDULES.replace('"0 2 * * *"', '"0 3 * * *"').replace(
            'PARALLEL_EXECUTION_LIMIT: "4"', 'CTT_X: "1"'
        )
    )
    code, out, _ = ctt(capsys, "schedule", "sync", "--json")
    changes = {c["schedule"]: c for c in json.loads(out)}
    assert changes["nightly"]["action"] == "update"
    assert changes["nightly"]["fields"] == {"cron": "0 3 * * *"}
    assert changes["nightly"]["delete_variables"] == ["PARALLEL_EXECUTION_LIMIT"]
    assert nightly["cron"] == "0 3 * * *"
    assert set(nightly["variables"]) == {"CTT_SCHEDULE", "CTT_X"}
    # the token went in the header, never into output
    assert all(r.headers["private-token"] == TOKEN for r in gitlab.requests)
    assert TOKEN not in out


def test_sync_leaves_foreign_schedules_and_prunes_its_own(
    gitlab: GitLabServer, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gitlab.schedules[1] = {
        "id": 1,
        "description": "someone else's",
        "ref": "main",
        "cron": "0 0 * * *",
        "cron_timezone": "UTC",
        "active": True,
        "variables": {},
    }
    assert ctt(capsys, "schedule", "sync")[0] == 0
    (workdir / "continuous-testing/config/schedules.yaml").write_text(
        SCHEDULES.split("  smoke:")[0]
    )
    _, out, _ = ctt(capsys, "schedule", "sync", "--prune", "--dry-run", "--json")
    assert [c["action"] for c in json.loads(out) if c["schedule"] == "smoke"] == ["deactivate"]
    assert all(s["active"] for s in gitlab.schedules.values())  # dry run
    assert ctt(capsys, "schedule", "sync", "--prune")[0] == 0
    active = {s["description"]: s["active"] for s in gitlab.schedules.values()}
    assert active == {"someone else's": True, "ctt: nightly": True, "ctt: smoke": False}


def test_sync_with_a_bad_token_is_an_infra_error_without_the_token(
    gitlab: GitLabServer,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CTT_GITLAB_TOKEN", "glpat-WrongTokenValue")
    code, _, err = ctt(capsys, "schedule", "sync")
    assert code == 3
    assert "GitLab API (127.0.0.1) answered 401" in err
    assert "WrongTokenValue" not in err
    monkeypatch.delenv("CTT_GITLAB_TOKEN")
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    code, _, err = ctt(capsys, "schedule", "sync")
    assert code == 2 and "set CTT_GITLAB_TOKEN" in err


# --- trigger --------------------------------------------------------------------------------


def test_trigger_passes_the_manual_selection_and_watch_follows_to_success(
    gitlab: GitLabServer, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = ctt(
        capsys,
        "trigger",
        "--ref",
        "develop",
        "--mode",
        "manual",
        "--tests",
        "unit,smoke",
        "-v",
        "CTT_NOTE=from api",
        "--watch",
        "--poll",
        "0.01",
        "--json",
    )
    assert code == 0, err
    (pipeline,) = gitlab.pipelines.values()
    assert pipeline["ref"] == "develop"
    assert pipeline["_variables"] == {
        "CTT_NOTE": "from api",
        "TEST_SELECTION_MODE": "manual",
        "TEST_SUITES": "unit,smoke",
    }
    assert json.loads(out)["status"] == "success"
    assert pipeline["_polls"] == 4  # pending, running, running, success
    assert "running" in err and TRIGGER not in err + out


@pytest.mark.parametrize(("final", "code"), [("failed", 1), ("canceled", 1), ("manual", 1)])
def test_watch_exit_code_follows_the_pipeline(
    gitlab: GitLabServer, workdir: Path, capsys: pytest.CaptureFixture[str], final: str, code: int
) -> None:
    gitlab.status_script = ["running", final]
    got, _, err = ctt(capsys, "trigger", "--watch", "--poll", "0.01")
    assert got == code
    assert (
        f"pipeline 1000 {'waits for a manual job' if final == 'manual' else 'ended ' + final}"
        in err
    )


def test_watch_gives_up_at_the_deadline(
    gitlab: GitLabServer, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gitlab.status_script = ["running"]
    code, _, err = ctt(capsys, "trigger", "--watch", "--poll", "0.2", "--deadline", "1")
    assert code == 3 and "still running after 1s" in err


def test_trigger_with_a_wrong_token_or_ref(
    gitlab: GitLabServer,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = ctt(capsys, "trigger", "--ref", "nope")
    assert code == 3 and "Reference not found" in err
    monkeypatch.setenv("CTT_TRIGGER_TOKEN", "glptt-NotTheToken")
    code, _, err = ctt(capsys, "trigger")
    assert code == 3 and "404" in err and "NotTheToken" not in err
    assert ctt(capsys, "trigger", "--mode", "full", "--tests", "a")[0] == 2


def test_trigger_retries_429_and_5xx_honouring_retry_after(
    gitlab: GitLabServer, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gitlab.fail_next = [(429, {"Retry-After": "0"}), (503, {"Retry-After": "0"})]
    code, _, err = ctt(capsys, "trigger")
    assert code == 0, err
    assert [r.path.endswith("/trigger/pipeline") for r in gitlab.requests] == [True] * 3
    assert len(gitlab.pipelines) == 1


# --- notifications --------------------------------------------------------------------------


def test_merge_request_note_is_created_once_then_updated(
    gitlab: GitLabServer,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "7")
    monkeypatch.setenv("CI_JOB_URL", "https://gitlab.example.com/group/app/-/jobs/55")
    gitlab.notes[7].append({"id": 1, "body": "LGTM", "system": False})
    _metrics(workdir / "test-metrics.json", failed=True)
    code, _, err = ctt(capsys, "notify")
    assert code == 0, err
    ours = [n for n in gitlab.notes[7] if n["id"] != 1]
    assert len(ours) == 1
    body = ours[0]["body"]
    assert body.startswith("<!-- ctt:test-report -->")
    assert "| min_pass_rate | 66.67% (2/3) | >= 99% | FAIL |" in body
    assert "- `unit::k::test_sum`" in body  # new failures
    assert "`unit` / `k::test_retry` (2 attempts)" in body  # flaky
    assert "expected 3 \\| got 4" in body  # a pipe in a message does not break the table
    assert (
        "[test report](https://gitlab.example.com/group/app/-/jobs/55/artifacts/file/consolidated-test-report.html)"
        in body
    )

    _metrics(workdir / "test-metrics.json", failed=False)
    assert ctt(capsys, "notify")[0] == 0
    ours = [n for n in gitlab.notes[7] if n["id"] != 1]
    assert len(ours) == 1  # edited, not added
    assert "| min_pass_rate | 100% (3/3) | >= 99% | PASS |" in ours[0]["body"]
    assert gitlab.notes[7][0]["body"] == "LGTM"


def test_slack_and_teams_webhooks(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slack, teams = SlackServer(), TeamsServer()
    _metrics(workdir / "test-metrics.json", failed=True)
    with slack.running(), teams.running():
        monkeypatch.setenv("CTT_SLACK_WEBHOOK_URL", slack.webhook)
        monkeypatch.setenv("CTT_TEAMS_WEBHOOK_URL", teams.webhook)
        slack.fail_next = [(429, {"Retry-After": "0"})]
        teams.fail_next = [(502, {})]
        code, out, err = ctt(capsys, "notify", "--json")
    assert code == 0, err
    assert json.loads(out)["sent"] == ["slack", "teams"]
    (msg,) = slack.messages
    assert msg["text"].startswith("ctt on feature/x: 2/3 passed, 1 failed")
    assert any("unit::k::test_sum" in b.get("text", {}).get("text", "") for b in msg["blocks"])
    (card,) = teams.messages
    content = card["attachments"][0]["content"]
    facts = next(b for b in content["body"] if b["type"] == "FactSet")["facts"]
    assert {"title": "no_new_failures", "value": "1 (threshold 0) FAIL"} in facts
    assert len(slack.requests) == 2 and len(teams.requests) == 2  # one retry each


def test_webhook_errors_never_show_the_url(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slack = SlackServer()
    _metrics(workdir / "test-metrics.json", failed=False)
    with slack.running():
        wrong = slack.url + "/services/T0000/B0000/WrongSecretPath"
        monkeypatch.setenv("CTT_SLACK_WEBHOOK_URL", wrong)
        code, out, err = ctt(capsys, "notify", "--to", "slack")
    assert code == 3
    assert "Slack webhook (127.0.0.1) answered 404 no_service" in err
    assert "WrongSecretPath" not in err + out


def test_a_skipped_scheduled_run_is_reported(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "continuous-testing/config/schedules.yaml").write_text(
        SCHEDULES
        + "maintenance_windows:\n  - {name: freeze, reason: release freeze, start: 2026-12-01T00:00:00Z, end: 2026-12-03T00:00:00Z}\n"
    )
    code, _, err = ctt(
        capsys,
        "schedule",
        "due",
        "--at",
        "2026-12-02T02:05:00Z",
        "--history",
        str(workdir / "h.sqlite"),
        "--output",
        "decision.json",
        "--dotenv",
        "schedule.env",
    )
    assert code == 0
    assert "nightly: skipped: maintenance window 'freeze': release freeze" in err
    assert "CTT_SCHEDULE_ACTION=skip\n" in (workdir / "schedule.env").read_text()
    slack = SlackServer()
    with slack.running():
        monkeypatch.setenv("CTT_SLACK_WEBHOOK_URL", slack.webhook)
        code, _, err = ctt(capsys, "notify", "--schedule-decision", "decision.json")
    assert code == 0, err
    (msg,) = slack.messages
    assert msg["text"] == "scheduled run not started: nightly, smoke"
    assert "release freeze" in json.dumps(msg["blocks"])


# --- metrics --------------------------------------------------------------------------------


def test_metrics_textfile_pushgateway_and_otlp(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    _metrics(workdir / "test-metrics.json", failed=True)
    monkeypatch.setenv("CTT_SCHEDULE", "nightly")
    gateway, otlp = PushgatewayServer(), OtlpServer()
    with gateway.running(), otlp.running():
        gateway.fail_next = [(503, {"Retry-After": "0"})]
        code, _, err = ctt(
            capsys,
            "metrics",
            "export",
            "--textfile",
            "out/ctt.prom",
            "--pushgateway",
            gateway.url,
            "--otlp-endpoint",
            otlp.url + "/v1/metrics",
        )
    assert code == 0, err
    text = (workdir / "out/ctt.prom").read_text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    gate = {s.labels["condition"]: s.value for s in families["ctt_gate_failed"].samples}
    assert gate == {"min_pass_rate": 1.0, "no_new_failures": 1.0}
    assert families["ctt_gate_blocked"].samples[0].value == 1.0
    assert families["ctt_suite_duration_change_ratio"].samples[0].value == 0.25
    tests = {s.labels["result"]: s.value for s in families["ctt_tests"].samples}
    assert tests["failed"] == 1.0 and tests["passed"] == 2.0
    assert families["ctt_pass_rate"].samples[0].labels == {
        "branch": "feature/x",
        "schedule": "nightly",
    }

    # the group key carries the branch, whose "/" needs the base64 form
    ((key, pushed),) = gateway.groups.items()
    assert dict(key) == {"job": "ctt", "branch": "feature/x", "schedule": "nightly"}
    assert {f.name for f in pushed} == set(families)
    assert len(gateway.requests) == 2  # one retried 503

    (export,) = otlp.exports
    (rm,) = export.resource_metrics
    service = {a.key: a.value.string_value for a in rm.resource.attributes}["service.name"]
    assert service == "ctt"
    otlp_metrics = {m.name: m for sm in rm.scope_metrics for m in sm.metrics}
    assert set(otlp_metrics) == set(families)
    blocked = otlp_metrics["ctt_gate_blocked"].gauge.data_points[0]
    assert blocked.as_double == 1.0


def test_prometheus_text_without_a_target_goes_to_stdout(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _metrics(workdir / "test-metrics.json", failed=False)
    code, out, _ = ctt(capsys, "metrics", "export")
    assert code == 0
    assert 'ctt_pass_rate{branch="feature/x"} 1.0' in out
    assert ctt(capsys, "metrics", "export", "--textfile", "x.txt")[0] == 3

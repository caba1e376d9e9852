"""``ctt notify``: send the run's summary to Slack, Teams and the merge request.

Fed by what the pipeline wrote: ``test-metrics.json`` (``ctt aggregate``), the quality gates
evaluated again from it (the same function ``ctt gate`` uses), and for scheduled runs the
regression check and the maintenance-window decisions. Without ``--to``, every channel whose
settings are in the environment is used: CTT_SLACK_WEBHOOK_URL, CTT_TEAMS_WEBHOOK_URL, and the
merge request note with CTT_GITLAB_TOKEN plus CI_MERGE_REQUEST_IID (or CTT_MR_IID in a child
pipeline).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

from ctt.ci.notify import Channel, Summary
from ctt.config.gates import DEFAULT_GATES_FILE, GateMode
from ctt.console import Output
from ctt.errors import UsageError
from ctt.tls import shared_context

__all__ = ["NotifyResult", "notify", "parse_channels"]


class NotifyResult(BaseModel):
    summary: Summary
    sent: list[str]
    note_id: int | None = None
    note_created: bool | None = None


def parse_channels(text: str | None) -> list[Channel] | None:
    if not text:
        return None
    try:
        return [Channel(c.strip()) for c in text.split(",") if c.strip()]
    except ValueError:
        raise UsageError(
            f"unknown channel in --to {text!r}", hint="use slack, teams, gitlab"
        ) from None


def _mr_iid(given: int | None) -> int | None:
    if given is not None:
        return given
    for name in ("CI_MERGE_REQUEST_IID", "CTT_MR_IID"):
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return None


def notify(
    out: Output,
    *,
    channels: list[Channel] | None = None,
    metrics_path: Path = Path("test-metrics.json"),
    gates_path: Path = DEFAULT_GATES_FILE,
    gate_mode: GateMode | None = None,
    mr_iid: int | None = None,
    report_url: str | None = None,
    regression_path: Path | None = None,
    decision_path: Path | None = None,
    api_url: str | None = None,
    project: str | None = None,
    dry_run: bool = False,
) -> NotifyResult:
    import httpx

    from ctt.ci.gate import evaluate
    from ctt.ci.gitlab import TOKEN_ENV, GitLab, env_token
    from ctt.ci.notify import (
        SLACK_ENV,
        TEAMS_ENV,
        default_report_url,
        markdown,
        post_mr_note,
        post_webhook,
        slack_payload,
        summarize,
        teams_payload,
    )
    from ctt.ci.schedule import DueReport
    from ctt.ci.schedule_runs import ScheduleRegression
    from ctt.config.gates import load_gates
    from ctt.report.metrics import load_metrics

    metrics = load_metrics(metrics_path) if decision_path is None or metrics_path.exists() else None
    gate = (
        evaluate(metrics, load_gates(gates_path), gate_mode)
        if metrics and gates_path.exists()
        else None
    )
    regression = (
        ScheduleRegression.model_validate_json(regression_path.read_text(encoding="utf-8"))
        if regression_path is not None and regression_path.exists()
        else None
    )
    decisions = (
        DueReport.model_validate_json(decision_path.read_text(encoding="utf-8")).decisions
        if decision_path is not None and decision_path.exists()
        else None
    )
    summary = summarize(
        metrics,
        gate,
        regression=regression,
        decisions=decisions,
        report_url=report_url or default_report_url(),
    )
    iid = _mr_iid(mr_iid)
    env = {Channel.SLACK: os.environ.get(SLACK_ENV), Channel.TEAMS: os.environ.get(TEAMS_ENV)}
    wanted = channels
    if wanted is None:
        wanted = [c for c in (Channel.SLACK, Channel.TEAMS) if env[c]]
        if iid is not None and any(os.environ.get(n) for n in TOKEN_ENV):
            wanted.append(Channel.GITLAB)
    result = NotifyResult(summary=summary, sent=[])
    if dry_run:
        out.emit_json(
            {
                "channels": [c.value for c in wanted],
                "gitlab": markdown(summary),
                "slack": slack_payload(summary),
                "teams": teams_payload(summary),
            }
        )
        return result
    for channel in wanted:
        if channel is Channel.GITLAB:
            if iid is None:
                raise UsageError(
                    "no merge request to comment on",
                    hint="pass --mr IID, or run in a merge request pipeline (CI_MERGE_REQUEST_IID)",
                )
            with GitLab(api_url, project, token=env_token(TOKEN_ENV, "GitLab token")) as api:
                note, created = post_mr_note(api, iid, markdown(summary))
            result.note_id, result.note_created = note.id, created
            out.info(f"merge request !{iid}: {'added' if created else 'updated'} note {note.id}")
        else:
            url = env[channel]
            if not url:
                name = SLACK_ENV if channel is Channel.SLACK else TEAMS_ENV
                raise UsageError(
                    f"no {channel.value} webhook", hint=f"set {name} (a masked CI/CD variable)"
                )
            payload = slack_payload(summary) if channel is Channel.SLACK else teams_payload(summary)
            with httpx.Client(timeout=30.0, verify=shared_context()) as client:
                post_webhook(client, channel, url, payload)
            out.info(f"{channel.value}: sent")
        result.sent.append(channel.value)
    if not wanted:
        out.warn(f"no channel configured (set {SLACK_ENV}, {TEAMS_ENV} or a GitLab token in an MR)")
    if out.json_mode:
        out.emit_json(result)
    return result

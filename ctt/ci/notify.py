"""Notifications of a run: Slack and Microsoft Teams incoming webhooks, and one GitLab merge
request note that each run updates.

One :class:`Summary` is built from what the pipeline already wrote (``test-metrics.json``, the
gate report, a scheduled run's regression check and maintenance-window decisions) and rendered
three ways: Markdown for the merge request note, Block Kit for Slack
(``{"text", "blocks"}``), an Adaptive Card for Teams (the ``message`` envelope that Teams
workflows and connectors accept). The merge request note starts with a hidden marker, so the
next run finds and edits it instead of adding another. Webhook URLs and tokens come from the
environment only and are never printed: a webhook URL is its own secret.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Any

import httpx
from pydantic import BaseModel, Field

from ctt.ci.gate import GateReport, Verdict
from ctt.ci.gitlab import GitLab, Note
from ctt.ci.http import HttpTarget, RetryPolicy, send
from ctt.ci.schedule import Action, ScheduleDecision
from ctt.ci.schedule_runs import ScheduleRegression
from ctt.report.metrics import FailureEntry, FlakyEntry, TestMetrics, Totals

__all__ = [
    "MARKER",
    "SLACK_ENV",
    "TEAMS_ENV",
    "Channel",
    "Summary",
    "markdown",
    "post_mr_note",
    "post_webhook",
    "slack_payload",
    "summarize",
    "teams_payload",
]

SLACK_ENV = "CTT_SLACK_WEBHOOK_URL"
TEAMS_ENV = "CTT_TEAMS_WEBHOOK_URL"
MARKER = "<!-- ctt:test-report -->"
_LIST = 10  # failures / flaky tests shown; the report has them all


class Channel(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    GITLAB = "gitlab"  # the merge request note


class Summary(BaseModel):
    """What every notification says about one run."""

    outcome: str = Field(description="passed, failed (a blocking gate or a test), or skipped")
    headline: str
    totals: Totals | None = None
    gate: GateReport | None = None
    new_failures: list[str] = Field(default_factory=list)
    new_failures_baseline: str | None = None
    failures: list[FailureEntry] = Field(default_factory=list)
    failures_more: int = 0
    flaky: list[FlakyEntry] = Field(default_factory=list)
    regression: ScheduleRegression | None = None
    skipped_runs: list[ScheduleDecision] = Field(default_factory=list)
    report_url: str | None = None
    pipeline_url: str | None = None


def default_report_url() -> str | None:
    """The HTML report among this job's artifacts (what generate-test-report.sh prints)."""
    job = os.environ.get("CI_JOB_URL")
    return f"{job}/artifacts/file/consolidated-test-report.html" if job else None


def summarize(
    metrics: TestMetrics | None,
    gate: GateReport | None,
    *,
    regression: ScheduleRegression | None = None,
    decisions: list[ScheduleDecision] | None = None,
    report_url: str | None = None,
    pipeline_url: str | None = None,
) -> Summary:
    skipped = [d for d in decisions or [] if d.action in (Action.SKIP, Action.DEFER)]
    url = pipeline_url or os.environ.get("CI_PIPELINE_URL")
    if metrics is None:
        names = ", ".join(d.schedule for d in skipped) or "no schedule"
        return Summary(
            outcome="skipped",
            headline=f"scheduled run not started: {names}",
            skipped_runs=skipped,
            pipeline_url=url,
        )
    t = metrics.totals
    failed = bool(t.failed or t.errors or (gate is not None and gate.blocked))
    if regression is not None and regression.regressed:
        failed = True
    gate_text = ""
    if gate is not None:
        gate_text = (
            "; gate BLOCKED"
            if gate.blocked
            else f"; gate failed ({gate.mode.value})"
            if gate.failed
            else "; gate passed"
        )
    where = metrics.run.branch or "?"
    headline = (
        f"ctt on {where}: {t.passed}/{t.tests} passed, {t.failed} failed, {t.errors} errors, "
        f"{t.flaky} flaky{gate_text}"
    )
    flaky = [f for f in metrics.flaky_tests if f.attempts > 1]
    return Summary(
        outcome="failed" if failed else "passed",
        headline=headline,
        totals=t,
        gate=gate,
        new_failures=metrics.new_failures.tests,
        new_failures_baseline=metrics.new_failures.baseline_run,
        failures=metrics.failures[:_LIST],
        failures_more=max(len(metrics.failures) - _LIST, 0),
        flaky=flaky[:_LIST],
        regression=regression,
        skipped_runs=skipped,
        report_url=report_url,
        pipeline_url=url,
    )


def _gate_rows(gate: GateReport) -> list[tuple[str, str, str, str]]:
    rows = []
    for r in gate.results:
        verdict = r.verdict.value.upper()
        if r.verdict is Verdict.FAIL and not r.blocking:
            verdict += " (advisory)"
        rows.append((r.condition, r.actual, r.threshold, verdict))
    return rows


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _regression_lines(reg: ScheduleRegression) -> list[str]:
    if reg.good_run is None:
        return [f"Schedule `{reg.schedule}`: no good run to compare with yet."]
    lines = [
        f"Schedule `{reg.schedule}` against its last good run `{reg.good_run}`: pass rate "
        f"{reg.pass_rate * 100:.2f}% (was {(reg.good_pass_rate or 0) * 100:.2f}%), "
        f"{len(reg.new_failures)} new failures, {len(reg.slower_suites)} suites slower than "
        f"+{reg.max_slowdown * 100:.0f}%."
    ]
    lines += [
        f"- `{s.suite}`: {s.duration:.1f}s (was {s.good_duration:.1f}s, +{s.change * 100:.0f}%)"
        for s in reg.slower_suites
    ]
    return lines


def markdown(summary: Summary, marker: str = MARKER) -> str:
    """The merge request note (GitLab Flavored Markdown), starting with the hidden marker."""
    icon = {"passed": ":white_check_mark:", "failed": ":x:"}.get(summary.outcome, ":pause_button:")
    out = [marker, f"### {icon} {summary.headline}", ""]
    if summary.gate is not None:
        out += [
            f"**Quality gates** ({summary.gate.mode.value})",
            "",
            "| condition | actual | threshold | verdict |",
            "|---|---|---|---|",
        ]
        out += [
            "| " + " | ".join(_md_escape(c) for c in row) + " |" for row in _gate_rows(summary.gate)
        ]
        out.append("")
    if summary.totals is not None:
        base = summary.new_failures_baseline or "no baseline run: every failure counts as new"
        out.append(f"**New failures** ({len(summary.new_failures)}, against {base})")
        out += [f"- `{t}`" for t in summary.new_failures[:_LIST]] or ["- none"]
        out.append("")
    if summary.failures:
        out.append("<details><summary>Failures</summary>\n")
        for f in summary.failures:
            msg = f": {_md_escape(f.message[:200])}" if f.message else ""
            out.append(f"- `{f.suite}` / `{f.test}` ({f.status}){msg}")
        if summary.failures_more:
            out.append(f"- ... {summary.failures_more} more in the report")
        out.append("\n</details>\n")
    if summary.flaky:
        out.append("**Flaky tests** (passed on retry)")
        out += [f"- `{f.suite}` / `{f.test}` ({f.attempts} attempts)" for f in summary.flaky]
        out.append("")
    if summary.regression is not None:
        out += [*_regression_lines(summary.regression), ""]
    for d in summary.skipped_runs:
        out.append(f"- schedule `{d.schedule}`: {d.reason}")
    links = []
    if summary.report_url:
        links.append(f"[test report]({summary.report_url})")
    if summary.pipeline_url:
        links.append(f"[pipeline]({summary.pipeline_url})")
    if links:
        out.append(" · ".join(links))
    return "\n".join(out).rstrip() + "\n"


def _plain_sections(summary: Summary) -> list[str]:
    """The body as short plain-text sections, for the chat cards."""
    sections = []
    if summary.gate is not None:
        sections.append(
            "Quality gates:\n"
            + "\n".join(f"{c}: {a} (threshold {t}) {v}" for c, a, t, v in _gate_rows(summary.gate))
        )
    if summary.new_failures:
        sections.append(
            f"New failures ({len(summary.new_failures)}):\n"
            + "\n".join(summary.new_failures[:_LIST])
        )
    if summary.flaky:
        sections.append(
            "Flaky tests:\n"
            + "\n".join(f"{f.suite} / {f.test} ({f.attempts} attempts)" for f in summary.flaky)
        )
    if summary.regression is not None:
        sections.append("\n".join(_regression_lines(summary.regression)))
    if summary.skipped_runs:
        sections.append("\n".join(f"{d.schedule}: {d.reason}" for d in summary.skipped_runs))
    return sections


def slack_payload(summary: Summary) -> dict[str, Any]:
    """Block Kit message: ``text`` (notification fallback) and header/section/context blocks."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary.headline[:150]}}
    ]
    for section in _plain_sections(summary):
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{section[:2900]}```"}}
        )
    links = [
        f"<{u}|{label}>"
        for label, u in (("test report", summary.report_url), ("pipeline", summary.pipeline_url))
        if u
    ]
    if links:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " | ".join(links)}]}
        )
    return {"text": summary.headline, "blocks": blocks}


def teams_payload(summary: Summary) -> dict[str, Any]:
    """An Adaptive Card (schema 1.4) in the ``message`` envelope of Teams incoming webhooks."""
    color = {"passed": "Good", "failed": "Attention"}.get(summary.outcome, "Warning")
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": summary.headline,
            "weight": "Bolder",
            "wrap": True,
            "color": color,
        }
    ]
    if summary.gate is not None:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": c, "value": f"{a} (threshold {t}) {v}"}
                    for c, a, t, v in _gate_rows(summary.gate)
                ],
            }
        )
    for section in _plain_sections(summary)[1 if summary.gate is not None else 0 :]:
        body.append({"type": "TextBlock", "text": section, "wrap": True, "fontType": "Monospace"})
    actions = [
        {"type": "Action.OpenUrl", "title": label, "url": u}
        for label, u in (("Test report", summary.report_url), ("Pipeline", summary.pipeline_url))
        if u
    ]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def post_webhook(
    client: httpx.Client,
    channel: Channel,
    url: str,
    payload: dict[str, Any],
    policy: RetryPolicy | None = None,
) -> None:
    """POST the JSON payload; retried on 429/5xx; the URL never appears in an error."""
    label = "Slack webhook" if channel is Channel.SLACK else "Teams webhook"
    send(
        client,
        "POST",
        url,
        HttpTarget(label, secrets=(url, httpx.URL(url).path)),
        policy=policy,
        json=payload,
    )


def post_mr_note(api: GitLab, mr_iid: int, body: str, marker: str = MARKER) -> tuple[Note, bool]:
    """Edit the note carrying ``marker`` on the merge request, or create it; (note, created)."""
    for note in api.notes(mr_iid):
        if not note.system and note.body.startswith(marker):
            return api.edit_note(mr_iid, note.id, body), False
    return api.create_note(mr_iid, body), True

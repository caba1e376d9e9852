"""``ctt trigger``: start a pipeline with GitLab's pipeline trigger API, optionally follow it.

``--mode manual --tests A,B`` become the pipeline variables TEST_SELECTION_MODE and TEST_SUITES
that the pipeline's select step reads. The trigger token comes from CTT_TRIGGER_TOKEN (or a
job's CI_JOB_TOKEN); ``--watch`` reads the pipeline with CTT_GITLAB_TOKEN.
"""

from __future__ import annotations

from ctt.ci.gitlab import Pipeline
from ctt.console import Output
from ctt.errors import UsageError

__all__ = ["trigger"]


def trigger(
    out: Output,
    *,
    ref: str,
    variables: list[str],
    mode: str | None = None,
    tests: str | None = None,
    watch: bool = False,
    deadline: float = 3600.0,
    poll: float = 2.0,
    api_url: str | None = None,
    project: str | None = None,
) -> Pipeline:
    from ctt.ci.gitlab import TOKEN_ENV, TRIGGER_TOKEN_ENV, GitLab, env_token
    from ctt.ci.trigger import Poll, outcome, parse_variables
    from ctt.ci.trigger import watch as follow

    values = parse_variables(variables)
    if tests and mode not in (None, "manual"):
        raise UsageError("--tests needs --mode manual")
    if mode:
        if mode not in ("smart", "full", "manual"):
            raise UsageError(f"unknown mode {mode!r}", hint="use smart, full or manual")
        values["TEST_SELECTION_MODE"] = mode
    if tests:
        values["TEST_SELECTION_MODE"] = "manual"
        values["TEST_SUITES"] = ",".join(t.strip() for t in tests.split(",") if t.strip())
    trigger_token = env_token(TRIGGER_TOKEN_ENV, "pipeline trigger token")
    read_token = env_token(TOKEN_ENV, "GitLab token (to follow the pipeline)") if watch else None
    with GitLab(api_url, project, token=read_token) as api:
        started = api.trigger(trigger_token, ref, values)
        out.info(
            f"pipeline {started.id} created on {ref}: {started.status} {started.web_url or ''}".rstrip()
        )
        final = started
        if watch:
            final = follow(
                api,
                started.id,
                Poll(first=poll, deadline=deadline),
                on_change=lambda p: out.info(f"pipeline {p.id}: {p.status}"),
            )
    if out.json_mode:
        out.emit_json(final)
    if watch:
        outcome(final)
    return final

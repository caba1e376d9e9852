"""GitLab REST API v4, the few endpoints ctt uses: pipeline schedules, the pipeline trigger,
pipelines, and merge request notes.

Shapes follow GitLab's public API docs (``api/pipeline_schedules.md``, ``api/pipeline_triggers.md``,
``api/pipelines.md``, ``api/notes.md``). The API URL and project come from GitLab's predefined
``CI_API_V4_URL`` / ``CI_PROJECT_ID`` (or options); tokens only from the environment, sent as the
``PRIVATE-TOKEN`` header (the trigger token in the body, as the trigger API wants) and never shown.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field

from ctt.ci.http import HttpTarget, RetryPolicy, send
from ctt.errors import UsageError
from ctt.tls import shared_context

__all__ = [
    "TOKEN_ENV",
    "TRIGGER_TOKEN_ENV",
    "GitLab",
    "Note",
    "Pipeline",
    "PipelineSchedule",
    "ScheduleVariable",
    "env_token",
]

TOKEN_ENV = ("CTT_GITLAB_TOKEN", "GITLAB_TOKEN")
"""A personal/project access token with the ``api`` scope (schedules, notes, pipelines)."""
TRIGGER_TOKEN_ENV = ("CTT_TRIGGER_TOKEN", "CI_JOB_TOKEN")
"""A pipeline trigger token (Settings > CI/CD > Pipeline trigger tokens) or a job's token."""


class ScheduleVariable(BaseModel):
    key: str
    value: str = ""
    variable_type: str = "env_var"


class PipelineSchedule(BaseModel):
    id: int
    description: str = ""
    ref: str = ""
    cron: str = ""
    cron_timezone: str = "UTC"
    active: bool = True
    next_run_at: datetime | None = None
    variables: list[ScheduleVariable] = Field(default_factory=list)


class Pipeline(BaseModel):
    id: int
    iid: int | None = None
    project_id: int | None = None
    status: str
    ref: str | None = None
    sha: str | None = None
    web_url: str | None = None


class Note(BaseModel):
    id: int
    body: str
    system: bool = False


def env_token(names: tuple[str, ...], what: str) -> str:
    """The first of ``names`` set in the environment, or a usage error naming them."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    raise UsageError(
        f"no {what} in the environment", hint=f"set {' or '.join(names)} (a masked CI/CD variable)"
    )


class GitLab:
    """A client for one project; use as a context manager."""

    def __init__(
        self,
        api_url: str | None = None,
        project: str | None = None,
        *,
        token: str | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        api = api_url or os.environ.get("CI_API_V4_URL")
        proj = project or os.environ.get("CI_PROJECT_ID")
        if not api or not proj:
            raise UsageError(
                "no GitLab API URL or project",
                hint="pass --api-url and --project, or run in GitLab CI (CI_API_V4_URL, CI_PROJECT_ID)",
            )
        self.base = api.rstrip("/") + "/projects/" + quote(str(proj), safe="")
        self.token = token
        headers = {"PRIVATE-TOKEN": token} if token else {}
        self.client = httpx.Client(headers=headers, timeout=timeout, verify=shared_context())
        self.target = HttpTarget("GitLab API", secrets=(token,) if token else ())
        self.policy = policy

    def __enter__(self) -> GitLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return send(self.client, method, self.base + path, self.target, policy=self.policy, **kw)

    def _pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (``page``/``per_page``, next page in ``X-Next-Page``)."""
        page: str | None = "1"
        while page:
            r = self._call("GET", path, params={"per_page": 100, "page": page})
            yield from r.json()
            page = r.headers.get("X-Next-Page") or None

    # --- pipeline schedules ---

    def schedules(self) -> list[PipelineSchedule]:
        """All schedules (the list endpoint omits variables; :meth:`schedule` has them)."""
        return [PipelineSchedule.model_validate(s) for s in self._pages("/pipeline_schedules")]

    def schedule(self, schedule_id: int) -> PipelineSchedule:
        return PipelineSchedule.model_validate(
            self._call("GET", f"/pipeline_schedules/{schedule_id}").json()
        )

    def create_schedule(self, fields: dict[str, Any]) -> PipelineSchedule:
        return PipelineSchedule.model_validate(
            self._call("POST", "/pipeline_schedules", json=fields).json()
        )

    def edit_schedule(self, schedule_id: int, fields: dict[str, Any]) -> PipelineSchedule:
        return PipelineSchedule.model_validate(
            self._call("PUT", f"/pipeline_schedules/{schedule_id}", json=fields).json()
        )

    def set_schedule_variable(
        self, schedule_id: int, key: str, value: str, *, exists: bool
    ) -> None:
        if exists:
            self._call(
                "PUT",
                f"/pipeline_schedules/{schedule_id}/variables/{quote(key)}",
                json={"value": value},
            )
        else:
            self._call(
                "POST",
                f"/pipeline_schedules/{schedule_id}/variables",
                json={"key": key, "value": value},
            )

    def delete_schedule_variable(self, schedule_id: int, key: str) -> None:
        self._call("DELETE", f"/pipeline_schedules/{schedule_id}/variables/{quote(key)}")

    # --- pipelines ---

    def trigger(self, trigger_token: str, ref: str, variables: dict[str, str]) -> Pipeline:
        """``POST /projects/:id/trigger/pipeline``: form fields ``token``, ``ref``, ``variables[K]``."""
        self.target = HttpTarget("GitLab API", secrets=(*self.target.secrets, trigger_token))
        form = {"token": trigger_token, "ref": ref} | {
            f"variables[{k}]": v for k, v in variables.items()
        }
        return Pipeline.model_validate(self._call("POST", "/trigger/pipeline", data=form).json())

    def pipeline(self, pipeline_id: int) -> Pipeline:
        return Pipeline.model_validate(self._call("GET", f"/pipelines/{pipeline_id}").json())

    # --- merge request notes ---

    def notes(self, mr_iid: int) -> list[Note]:
        return [Note.model_validate(n) for n in self._pages(f"/merge_requests/{mr_iid}/notes")]

    def create_note(self, mr_iid: int, body: str) -> Note:
        return Note.model_validate(
            self._call("POST", f"/merge_requests/{mr_iid}/notes", json={"body": body}).json()
        )

    def edit_note(self, mr_iid: int, note_id: int, body: str) -> Note:
        return Note.model_validate(
            self._call(
                "PUT", f"/merge_requests/{mr_iid}/notes/{note_id}", json={"body": body}
            ).json()
        )

"""``ctt schedule sync``: make the project's GitLab pipeline schedules match schedules.yaml.

A schedule ctt manages carries the variable ``CTT_SCHEDULE=<name>`` (that is also how the
scheduled pipeline knows which schedule started it); schedules without it are the user's and
are never touched. Sync creates what is missing, edits what differs (description, ref, cron,
time zone, active, variables), and with ``prune`` deactivates managed schedules that left the
file (deactivate, not delete: their history in GitLab stays).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from ctt.ci.gitlab import GitLab, PipelineSchedule
from ctt.config.schedules import Schedule, SchedulesConfig

__all__ = ["SCHEDULE_VARIABLE", "SyncAction", "SyncChange", "apply", "plan"]

SCHEDULE_VARIABLE = "CTT_SCHEDULE"


class SyncAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DEACTIVATE = "deactivate"


class SyncChange(BaseModel):
    schedule: str
    action: SyncAction
    gitlab_id: int | None = None
    fields: dict[str, Any] = Field(default_factory=dict, description="schedule fields to set")
    set_variables: dict[str, str] = Field(default_factory=dict)
    delete_variables: list[str] = Field(default_factory=list)
    existing_variables: list[str] = Field(default_factory=list, exclude=True)


def _fields(s: Schedule) -> dict[str, Any]:
    return {
        "description": s.gitlab_description,
        "ref": s.ref,
        "cron": s.cron,
        "cron_timezone": s.timezone,
        "active": s.active,
    }


def _wanted_variables(s: Schedule) -> dict[str, str]:
    return {**s.variables, SCHEDULE_VARIABLE: s.name}


def plan(
    config: SchedulesConfig, existing: list[PipelineSchedule], *, prune: bool = False
) -> list[SyncChange]:
    """The changes that make ``existing`` (schedules with their variables) match ``config``."""
    managed: dict[str, PipelineSchedule] = {}
    for found in existing:
        for v in found.variables:
            if v.key == SCHEDULE_VARIABLE:
                managed.setdefault(v.value, found)
    changes = []
    for name, s in config.schedules.items():
        want = _fields(s)
        want_vars = _wanted_variables(s)
        gs = managed.get(name)
        if gs is None:
            changes.append(
                SyncChange(
                    schedule=name, action=SyncAction.CREATE, fields=want, set_variables=want_vars
                )
            )
            continue
        have = gs.model_dump()
        diff = {k: v for k, v in want.items() if have.get(k) != v}
        have_vars = {v.key: v.value for v in gs.variables}
        set_vars = {k: v for k, v in want_vars.items() if have_vars.get(k) != v}
        delete = sorted(k for k in have_vars if k not in want_vars)
        changed = bool(diff or set_vars or delete)
        changes.append(
            SyncChange(
                schedule=name,
                action=SyncAction.UPDATE if changed else SyncAction.UNCHANGED,
                gitlab_id=gs.id,
                fields=diff,
                set_variables=set_vars,
                delete_variables=delete,
                existing_variables=sorted(have_vars),
            )
        )
    if prune:
        for name, gs in sorted(managed.items()):
            if name not in config.schedules and gs.active:
                changes.append(
                    SyncChange(
                        schedule=name,
                        action=SyncAction.DEACTIVATE,
                        gitlab_id=gs.id,
                        fields={"active": False},
                    )
                )
    return changes


def existing_schedules(api: GitLab) -> list[PipelineSchedule]:
    """Every schedule of the project with its variables (the list endpoint has none)."""
    return [api.schedule(s.id) for s in api.schedules()]


def apply(api: GitLab, changes: list[SyncChange]) -> list[SyncChange]:
    """Carry out ``changes``; returns them with the ids of created schedules filled in."""
    done = []
    for change in changes:
        if change.action is SyncAction.UNCHANGED:
            done.append(change)
            continue
        if change.action is SyncAction.CREATE:
            created = api.create_schedule(change.fields)
            change = change.model_copy(update={"gitlab_id": created.id})
        elif change.fields:
            assert change.gitlab_id is not None
            api.edit_schedule(change.gitlab_id, change.fields)
        assert change.gitlab_id is not None
        for key, value in change.set_variables.items():
            api.set_schedule_variable(
                change.gitlab_id, key, value, exists=key in change.existing_variables
            )
        for key in change.delete_variables:
            api.delete_schedule_variable(change.gitlab_id, key)
        done.append(change)
    return done

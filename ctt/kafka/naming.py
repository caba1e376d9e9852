"""Run-scoped names: every topic and job a test creates carries the run id, so parallel runs never share one."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

PREFIX = "ctt"
_SAFE = re.compile(r"[^a-z0-9._-]+")


def new_run_id() -> str:
    """``20261127t041500-a1b2c3``: sortable by time (for cleanup by age) and unique."""
    return f"{datetime.now(UTC):%Y%m%dt%H%M%S}-{secrets.token_hex(3)}"


def slug(text: str) -> str:
    return _SAFE.sub("-", text.lower()).strip("-") or "x"


def test_scope(file: str, test: str) -> str:
    """A short name for one test of a run, unique even when two spec files name a test alike."""
    digest = hashlib.sha1(f"{file}::{test}".encode()).hexdigest()[:6]
    return f"{slug(test)[:50]}-{digest}"


def scoped(run_id: str, test: str, name: str) -> str:
    """Topic name for table ``name`` of ``test`` in run ``run_id`` (Kafka allows 249 characters)."""
    return f"{PREFIX}.{run_id}.{slug(test)[:60]}.{slug(name)[:60]}"


def job_name(run_id: str, scope: str) -> str:
    """The Flink job (``pipeline.name``) of one test: ``ctt-<run id>-<test scope>``."""
    return f"{PREFIX}-{run_id}-{scope}"


def session_name(run_id: str) -> str:
    """The SQL Gateway sessions of a run."""
    return f"{PREFIX}-{run_id}"


def run_id_of_job(name: str, prefix: str = PREFIX) -> str | None:
    """The run id in a job name made by :func:`job_name`, or None for a job ctt did not name."""
    if not name.startswith(prefix + "-"):
        return None
    parts = name[len(prefix) + 1 :].split("-")
    if len(parts) < 2 or created_at(f"{parts[0]}-{parts[1]}") is None:
        return None
    return f"{parts[0]}-{parts[1]}"


def run_id_of(topic: str) -> str | None:
    parts = topic.split(".")
    if len(parts) >= 2 and parts[0] == PREFIX:
        return parts[1]
    return None


def created_at(run_id: str) -> datetime | None:
    try:
        return datetime.strptime(run_id.split("-", 1)[0], "%Y%m%dt%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None

"""What runs left behind on a cluster, found by the run id in every name ctt gives.

A run's topics (``ctt.<run id>.<test>.<table>``) and jobs (``ctt-<run id>-<test>``) carry
its run id (:mod:`ctt.kafka.naming`), so a sweep chooses by run id: one run's own
(:func:`of_run`, what a run on a shared cluster removes at its end and what
``ctt cleanup --run-id`` removes), or every run older than some age (:func:`older_than`).
Whatever does not carry a ctt run id is never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel

from ctt.engines.flink_rest import FlinkRest
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.naming import PREFIX, created_at, run_id_of, run_id_of_job

__all__ = ["Leftovers", "Owned", "find", "of_run", "older_than", "remove"]

Owned = Callable[[str], bool]  # run id -> whether this sweep removes what it owns
_LIVE = ("INITIALIZING", "CREATED", "RUNNING", "RESTARTING", "FAILING")


class Leftovers(BaseModel):
    topics: list[str]
    jobs: list[str]  # Flink job ids


def of_run(run_id: str) -> Owned:
    return lambda rid: rid == run_id


def older_than(seconds: float, now: datetime | None = None) -> Owned:
    at = now or datetime.now(UTC)

    def old(rid: str) -> bool:
        born = created_at(rid)
        return born is not None and (at - born).total_seconds() >= seconds

    return old


def find(admin: TopicAdmin, rest: FlinkRest, owned: Owned, *, prefix: str = PREFIX) -> Leftovers:
    """The topics and live jobs named for a run that ``owned`` accepts."""
    topics = []
    for topic in admin.list():
        rid = run_id_of(topic) if topic.startswith(prefix + ".") else None
        if rid is not None and owned(rid):
            topics.append(topic)
    jobs = []
    for job in rest.jobs():
        rid = run_id_of_job(str(job.get("name", "")), prefix)
        if rid is not None and owned(rid) and job.get("state") in _LIVE:
            jobs.append(str(job["jid"]))
    return Leftovers(topics=sorted(topics), jobs=jobs)


def remove(admin: TopicAdmin, rest: FlinkRest, found: Leftovers) -> None:
    """Cancel the jobs first (they write to the topics), then delete the topics."""
    for jid in found.jobs:
        rest.cancel(jid)
    admin.delete(found.topics)

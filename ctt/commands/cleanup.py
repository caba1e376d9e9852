"""``ctt cleanup``: remove the topics and jobs that interrupted runs left on the local stack.

A run's topics and jobs carry its run id, and the run id its creation time, so
only leftovers older than ``--older-than`` go: a run still in progress keeps its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from ctt.config.durations import parse_duration
from ctt.console import Output
from ctt.errors import UsageError
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.naming import created_at, run_id_of
from ctt.stack.supervisor import LocalStack

__all__ = ["CleanupReport", "cleanup"]


class CleanupReport(BaseModel):
    topics: list[str]
    jobs: list[str]
    dry_run: bool


def cleanup(out: Output, *, older_than: str, prefix: str, dry_run: bool) -> None:
    from ctt.engines.flink_rest import FlinkRest

    try:
        older_than_s = parse_duration(older_than)
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    stack = LocalStack().current()
    if stack is None:
        raise UsageError("no local stack is running: nothing to clean", hint="`ctt stack status`")
    now = datetime.now(UTC)

    def old(run_id: str | None) -> bool:
        born = created_at(run_id) if run_id else None
        return born is not None and (now - born).total_seconds() >= older_than_s

    admin = TopicAdmin(stack.bootstrap_servers)
    topics = sorted(t for t in admin.list() if t.startswith(prefix + ".") and old(run_id_of(t)))
    rest = FlinkRest(stack.flink_rest_url)
    jobs = []
    for job in rest.jobs():
        name = str(job.get("name", ""))
        if name.startswith(prefix + "-") and job.get("state") in (
            "RUNNING",
            "CREATED",
            "RESTARTING",
        ):
            run_id = "-".join(name.split("-")[1:3])
            if old(run_id):
                jobs.append(str(job["jid"]))
    if not dry_run:
        for jid in jobs:
            rest.cancel(jid)
        admin.delete(topics)
    rest.close()
    report = CleanupReport(topics=topics, jobs=jobs, dry_run=dry_run)
    if out.json_mode:
        out.emit_json(report)
    verb = "would remove" if dry_run else "removed"
    out.info(f"{verb} {len(topics)} topic(s) and {len(jobs)} job(s)")

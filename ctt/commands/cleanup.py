"""``ctt cleanup``: remove the topics and jobs that interrupted runs left on the local stack.

A run's topics and jobs carry its run id, and the run id its creation time, so
only leftovers older than ``--older-than`` go: a run still in progress keeps its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel

from ctt.config.durations import parse_duration
from ctt.console import Output
from ctt.errors import UsageError
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.naming import created_at, run_id_of
from ctt.stack.state import StackState
from ctt.stack.supervisor import LocalStack

__all__ = ["CleanupReport", "cleanup"]


class CleanupReport(BaseModel):
    topics: list[str]
    jobs: list[str]
    connectors: list[str] = []
    tables: list[str] = []
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
    sinks = _sinks(stack, prefix, old, dry_run=dry_run)
    if not dry_run:
        for jid in jobs:
            rest.cancel(jid)
        admin.delete(topics)
    rest.close()
    report = CleanupReport(
        topics=topics,
        jobs=jobs,
        connectors=[c for c, _ in sinks],
        tables=[t for _, t in sinks if t],
        dry_run=dry_run,
    )
    if out.json_mode:
        out.emit_json(report)
    verb = "would remove" if dry_run else "removed"
    extra = (
        f", {len(report.connectors)} sink connector(s) and {len(report.tables)} table(s)"
        if sinks
        else ""
    )
    out.info(f"{verb} {len(topics)} topic(s) and {len(jobs)} job(s){extra}")


def _sinks(
    stack: StackState, prefix: str, old: Callable[[str | None], bool], *, dry_run: bool
) -> list[tuple[str, str | None]]:
    """Sink connectors of old runs and their tables (with Connect and PostgreSQL in the stack)."""
    if stack.connect_url is None:
        return []
    from ctt.sink.connect import ConnectClient
    from ctt.sink.connector import leftovers
    from ctt.sink.postgres import PostgresTarget

    client = ConnectClient(stack.connect_url)
    try:
        found = leftovers(client, prefix=prefix, old=old)
        if not dry_run:
            target = PostgresTarget(stack.postgres_dsn) if stack.postgres_dsn else None
            for connector, table in found:
                client.delete(connector)
                if table and target is not None:
                    target.drop(table)
    finally:
        client.close()
    return found

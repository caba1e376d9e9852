"""``ctt cleanup``: remove the topics and jobs that runs left behind, chosen by run id.

A run's topics and jobs carry its run id, and the run id its creation time. With
``--run-id`` only that run's go, whatever their age (what a run on a shared cluster
owns); otherwise only leftovers older than ``--older-than``, so a run still in
progress keeps its own. Names without a ctt run id are never touched. The target is
the local stack, or the cluster of ``--profile``/``CTT_*`` (docs/user-guide.md).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from pydantic import BaseModel

from ctt.config.cluster import load_cluster, remote_requested
from ctt.config.durations import parse_duration
from ctt.console import Output
from ctt.engines.flink_rest import FlinkRest
from ctt.errors import UsageError
from ctt.flinktest import leftovers
from ctt.flinktest.remote_run import RemoteTarget
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.naming import created_at
from ctt.stack.state import StackState
from ctt.stack.supervisor import LocalStack

__all__ = ["CleanupReport", "cleanup"]


class CleanupReport(BaseModel):
    topics: list[str]
    jobs: list[str]
    connectors: list[str] = []
    tables: list[str] = []
    dry_run: bool
    run_id: str | None = None


def cleanup(
    out: Output,
    *,
    older_than: str,
    prefix: str,
    dry_run: bool,
    run_id: str | None = None,
    profile: Path | None = None,
) -> None:
    if run_id is not None:
        if created_at(run_id) is None:
            raise UsageError(
                f"--run-id {run_id!r} is not a ctt run id",
                hint="a run id looks like 20261203t081500-a1b2c3 (the run's report shows it)",
            )
        owned = leftovers.of_run(run_id)
    else:
        try:
            owned = leftovers.older_than(parse_duration(older_than))
        except ValueError as exc:
            raise UsageError(f"--older-than: {exc}") from None
    rest_cm: contextlib.AbstractContextManager[FlinkRest]
    stack: StackState | None = None
    if remote_requested(profile):
        target = RemoteTarget(load_cluster(profile), run_id=run_id or "cleanup", say=out.info)
        admin = target.kafka.admin
        rest_cm = target.rest()
    else:
        stack = LocalStack().current()
        if stack is None:
            raise UsageError(
                "no local stack is running: nothing to clean",
                hint="`ctt stack status`, or give the cluster with --profile / CTT_GATEWAY_URL",
            )
        admin = TopicAdmin(stack.bootstrap_servers)
        rest_cm = contextlib.closing(FlinkRest(stack.flink_rest_url))
    with rest_cm as rest:
        found = leftovers.find(admin, rest, owned, prefix=prefix)
        if not dry_run:
            leftovers.remove(admin, rest, found)
    sinks = _sinks(stack, prefix, owned, dry_run=dry_run) if stack is not None else []
    report = CleanupReport(
        topics=found.topics,
        jobs=found.jobs,
        connectors=[c for c, _ in sinks],
        tables=[t for _, t in sinks if t],
        dry_run=dry_run,
        run_id=run_id,
    )
    if out.json_mode:
        out.emit_json(report)
    verb = "would remove" if dry_run else "removed"
    whose = f" of run {run_id}" if run_id else ""
    extra = (
        f", {len(report.connectors)} sink connector(s) and {len(report.tables)} table(s)"
        if sinks
        else ""
    )
    out.info(f"{verb} {len(found.topics)} topic(s) and {len(found.jobs)} job(s){extra}{whose}")


def _sinks(
    stack: StackState, prefix: str, owned: leftovers.Owned, *, dry_run: bool
) -> list[tuple[str, str | None]]:
    """Sink connectors of the runs ``owned`` accepts, and their tables (with Connect and
    PostgreSQL in the local stack)."""
    if stack.connect_url is None:
        return []
    from ctt.sink.connect import ConnectClient
    from ctt.sink.connector import leftovers as sink_leftovers
    from ctt.sink.postgres import PostgresTarget

    client = ConnectClient(stack.connect_url)
    try:
        found = sink_leftovers(
            client, prefix=prefix, old=lambda rid: rid is not None and owned(rid)
        )
        if not dry_run:
            target = PostgresTarget(stack.postgres_dsn) if stack.postgres_dsn else None
            for connector, table in found:
                client.remove(connector)
                if table and target is not None:
                    target.drop(table)
    finally:
        client.close()
    return found

"""The runner's side of a ``sink:``: the connector's lifecycle within one test, and what it wrote.

Order within a test (``FlinkTestRunner``): names and the dead-letter topic with the
test's topics; the connector created and RUNNING once the job runs, before any input
is produced, with :class:`ctt.sink.watch.TargetWatcher` polling the table from then
on; after Flink's output is read, a wait until the table holds as many rows as the
output's final state and has been quiet for a moment (or ``sink.timeout`` passed);
then :meth:`SinkRun.observe` for the validators. Every wait polls the connector's
status: a FAILED task is :class:`ctt.sink.connect.SinkFailed`, a failed test with
the task's trace. :meth:`SinkRun.cleanup` deletes the connector and drops the table,
always (the runner's ``finally``, also on Ctrl-C); the runner deletes the topic.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ctt.config.sink import Nested, SinkConfig, SinkMode
from ctt.config.spec import LoadedTest
from ctt.errors import CttError, InfraError
from ctt.kafka.client import KafkaClient
from ctt.observed.model import Column, OutputRow, TargetTable
from ctt.observed.rows import actual_rows, upsert_state
from ctt.sink.connect import ConnectClient, ConnectorStatus, SinkFailed
from ctt.sink.connector import Endpoints, Names, connector_config, names
from ctt.sink.watch import TargetWatcher, identity
from ctt.stack.settings import Extra, StackSettings, parse_extras
from ctt.stack.state import StackState

_T = TypeVar("_T")
Wait = Callable[[str, Callable[[], "_T | None"], float], "_T"]
"""The runner's wait: (what, probe, deadline) -> the probe's first non-None value."""

QUIET_S = 2.0
"""The table must stay unchanged this long once it holds enough rows (late extra rows)."""

_NO_SINK = "the stack runs without Kafka Connect and PostgreSQL"
SKIP_HINT = "start them with `ctt stack up --with connect,postgres`"


def endpoints(stack: StackState | None) -> Endpoints | None:
    """The stack's Connect and PostgreSQL, or None when it runs without them."""
    if stack is None:
        return None
    connect, dsn, jdbc = stack.connect_url, stack.postgres_dsn, stack.postgres_jdbc_url
    if not (connect and dsn and jdbc and stack.postgres is not None):
        return None
    return Endpoints(
        connect_url=connect, postgres_dsn=dsn, jdbc_url=jdbc, jdbc_user=stack.postgres.user
    )


def stack_settings(tests: list[LoadedTest]) -> StackSettings:
    """The local stack these tests need: with Connect and PostgreSQL when one has ``sink:``.

    ``CTT_STACK_WITH`` adds to it (as for ``ctt stack up``).
    """
    extras = set(parse_extras(os.environ.get("CTT_STACK_WITH")))
    if any(lt.test.sink is not None and not lt.test.skip for lt in tests):
        extras |= {Extra.CONNECT, Extra.POSTGRES}
    return StackSettings(extras=frozenset(extras))


def skip_reason(lt: LoadedTest, ends: Endpoints | None) -> str | None:
    """Why a sink test cannot run here (no Connect/PostgreSQL in the stack), else None."""
    if lt.test.sink is None or ends is not None:
        return None
    return f"sink: {_NO_SINK}; {SKIP_HINT}"


def resolve_output(lt: LoadedTest, outputs: dict[str, dict[str, str] | None]) -> str:
    """The output the sink reads (set on the spec's model for the SQL setup), or a spec error."""
    sink = lt.test.sink
    assert sink is not None
    loc = ("flink_transformation_tests", lt.test.name, "sink")
    sink.check(lt.source_map, loc, outputs=outputs)
    name = sink.output_table(outputs)
    assert name is not None
    if lt.test.tables.get(name) is not None and sink.schemas:
        raise lt.source_map.error(
            f"sink: {name!r} is declared under `tables:`; with `schemas: true` ctt writes the "
            "connector's envelope itself, so the sinked output must be a CREATE TABLE ... AS "
            "SELECT target ctt declares",
            loc,
        )
    sink.output = name
    return name


class SinkRun:
    """One test's connector, table and watcher (see the module doc for the order)."""

    def __init__(
        self,
        sink: SinkConfig,
        ends: Endpoints,
        *,
        run_id: str,
        scope: str,
        output: str,
        note: Callable[[str], None],
    ) -> None:
        self.sink = sink
        self.ends = ends
        self.output = output
        self.names: Names = names(sink, run_id=run_id, scope=scope, output=output)
        self.note = note
        self.client = ConnectClient(ends.connect_url)
        from ctt.sink.postgres import PostgresTarget  # psycopg: only a run with a sink loads it

        self.target = PostgresTarget(ends.postgres_dsn)
        self.watcher: TargetWatcher | None = None
        self.created = False
        self.injected: list[str] = []

    def topics(self) -> list[str]:
        """Topics ctt creates for the sink (its dead-letter topic), deleted with the test's."""
        return [self.names.dead_letter_topic] if self.names.dead_letter_topic else []

    def failure(self) -> None:
        """Raise :class:`SinkFailed` when the connector or a task FAILED."""
        st = self.client.status(self.names.connector)
        task = st.failed if st is not None else None
        if st is not None and task is not None:
            raise SinkFailed(self.names.connector, task)

    def start(self, topic: str, wait: Wait[Any], deadline: float) -> None:
        """Create the connector on ``topic``, wait until its task runs, start watching the table."""
        config = connector_config(self.sink, topic=topic, names=self.names, endpoints=self.ends)
        self.client.create(self.names.connector, config)
        self.created = True
        self.note(f"sink: connector {self.names.connector} created, writing {self.names.table}")

        def running() -> ConnectorStatus | None:
            st = self.client.status(self.names.connector)
            if st is not None and st.failed is not None:
                raise SinkFailed(self.names.connector, st.failed)
            return st if st is not None and st.running else None

        wait("waiting for the sink connector to run", running, deadline)
        self.watcher = TargetWatcher(lambda: self.target.rows(self.names.table))
        self.watcher.start()

    def inject(self, kafka: KafkaClient, topic: str, count: int) -> None:
        """Send ``count`` values the connector's converter cannot read (for its dead-letter topic)."""
        from ctt.kafka.record import GeneratedRecord

        values = [f"ctt-not-json-{i}: {{" for i in range(count)]
        now_ms = int(time.time() * 1000)
        records = [
            GeneratedRecord(
                index=i,
                key=None,
                value=v.encode(),
                fields=None,
                event_time_ms=now_ms,
                partition=0,
                watermark_ms=None,
                late=False,
            )
            for i, v in enumerate(values)
        ]
        kafka.produce(records, topic)
        self.injected += values
        self.note(f"sink: sent {count} undecodable records to {topic} for the connector's DLQ")

    def await_rows(self, want: int, wait: Wait[Any], deadline: float) -> None:
        """Wait until the table holds ``want`` rows and stayed unchanged for :data:`QUIET_S`."""
        watcher = self.watcher
        assert watcher is not None
        end = min(deadline, time.monotonic() + self.sink.timeout)
        last: list[Any] = [None, time.monotonic()]

        def settled() -> bool | None:
            self.failure()
            rows = watcher.latest()
            ident = sorted(identity(r) for r in rows or [])
            now = time.monotonic()
            if ident != last[0]:
                last[0], last[1] = ident, now
            if len(ident) >= want and now - last[1] >= QUIET_S:
                return True
            return True if now > end else None

        wait(f"waiting for {want} rows in {self.names.table}", settled, deadline)
        have = len(watcher.latest() or [])
        self.note(f"sink: {self.names.table} holds {have} rows ({want} expected from the topic)")

    def observe(self, kafka_dlq: list[str]) -> TargetTable:
        """What the connector wrote, for the validators."""
        watcher = self.watcher
        assert watcher is not None
        rows = watcher.poll() or []
        columns = self.target.columns(self.names.table) or []
        return TargetTable(
            output=self.output,
            table=self.names.table,
            columns=[Column(name=c.name, type=c.describe()) for c in columns],
            records=[
                OutputRow(op="+I", row=r, received_at=watcher.seen.get(identity(r))) for r in rows
            ],
            key=list(self.sink.primary_key),
            upsert=self.sink.mode is SinkMode.UPSERT,
            flattened=self.sink.nested is Nested.FLATTEN,
            dead_letters=kafka_dlq,
            injected=self.injected,
            connector=self.names.connector,
        )

    def cleanup(self, *, keep: bool) -> None:
        """Stop watching, delete the connector, drop the table; each step on its own."""
        if self.watcher is not None:
            with contextlib.suppress(CttError):
                self.watcher.stop()
        if self.created:
            try:
                self.client.remove(self.names.connector)  # its tasks stopped: none writes now
                self.note(f"sink: connector {self.names.connector} deleted")
            except CttError as exc:
                self.note(f"cleanup: could not delete connector {self.names.connector}: {exc}")
        if not keep:
            try:
                self.target.drop(self.names.table)
                self.note(f"sink: table {self.names.table} dropped")
            except CttError as exc:
                self.note(f"cleanup: could not drop table {self.names.table}: {exc}")
        self.client.close()


def final_count(sink: SinkConfig, records: list[OutputRow], columns: list[Column]) -> int:
    """Rows the target must end with: every record (insert), the final state by key (upsert)."""
    if sink.mode is SinkMode.UPSERT:
        return len(upsert_state(records, sink.primary_key))
    from ctt.observed.model import TableOutput

    return len(actual_rows(TableOutput(table="", columns=columns, records=records)))


def require(ends: Endpoints | None) -> Endpoints:
    if ends is None:
        raise InfraError(_NO_SINK, hint=SKIP_HINT)
    return ends


__all__ = ["SinkRun", "endpoints", "final_count", "resolve_output", "skip_reason"]

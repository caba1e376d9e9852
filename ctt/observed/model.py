"""What every validator sees and returns.

A validator is one file with one function ``check(arg, ctx) -> Outcome`` and a
``parse(raw) -> arg`` that turns the spec's YAML value into its argument, so a
bad value is a config error before anything runs (testdrive's habit of
consuming arguments as read).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ctt.config.spec import FlinkTest


@functools.cache  # a comparison asks once per value, for a handful of distinct types
def base_type(flink_type: str) -> str:
    """``'DECIMAL(10, 2) NOT NULL'`` -> ``'DECIMAL'``; ``'TIMESTAMP_LTZ(3) *PROCTIME*'`` -> ``'TIMESTAMP_LTZ'``."""
    return re.split(r"[\s(<]", flink_type.strip().upper(), maxsplit=1)[0]


def is_proctime(flink_type: str) -> bool:
    return "*PROCTIME*" in flink_type.upper()


class CheckpointStats(BaseModel):
    """A job's checkpoints as Flink's ``/jobs/:id/checkpoints`` reports them (savepoints excluded)."""

    completed: int = 0
    failed: int = 0
    in_progress: int = 0
    restored: int = Field(0, description="times the job restored from a checkpoint or savepoint")
    durations_ms: list[int] = Field(
        default_factory=list,
        description="end-to-end durations of the completed checkpoints Flink "
        "still lists (its history keeps the latest ones only)",
    )
    last_size_bytes: int | None = Field(None, description="checkpointed size of the latest one")
    last_restored_id: int | None = None
    last_completed_id: int | None = Field(None, description="newest completed checkpoint")
    last_triggered_id: int | None = Field(None, description="newest checkpoint started")
    last_completed_path: str | None = Field(
        None, description="where the newest completed checkpoint is stored (external_path)"
    )
    failed_while_starting: int = Field(
        0,
        description="failed before every task ran: Flink counts each trigger it could not send "
        "to a task still deploying",
    )

    @property
    def failed_running(self) -> int:
        """Checkpoints that failed while the job ran: the ones a success rate is about."""
        return max(0, self.failed - self.failed_while_starting)

    @property
    def triggered(self) -> int:
        return self.completed + self.failed_running


class VertexMetrics(BaseModel):
    """One job vertex (a chain of operators): its rates and how busy or backpressured it is."""

    name: str
    records_in_per_s: float | None = None
    records_out_per_s: float | None = None
    backpressure_ratio: float | None = Field(None, description="max over subtasks, 0..1")
    busy_ratio: float | None = Field(None, description="max over subtasks, 0..1")


class StatementMetrics(BaseModel):
    """What the engine reports of a job: the performance and late-data checks read it."""

    records_in: int | None = Field(None, description="records every source read, summed")
    records_out: int | None = Field(None, description="records every sink wrote, summed")
    late_records_dropped: int | None = None
    backpressure_ratio: float | None = None
    checkpoints_completed: int | None = None
    checkpoints_failed: int | None = None
    checkpoints: CheckpointStats | None = Field(None, description="None: the engine cannot tell")
    restarts: int | None = Field(None, description="times Flink restarted the job")
    vertices: list[VertexMetrics] = Field(default_factory=list)
    watermark_ms: int | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


class Column(BaseModel):
    name: str
    type: str


class OutputRow(BaseModel):
    """One record the job wrote: its row, changelog op and when ctt read it."""

    op: str = "+I"  # +I, -U, +U, -D
    row: dict[str, Any]
    received_at: float | None = None
    kafka_timestamp_ms: int | None = None


class InputRecord(BaseModel):
    """One record ctt produced, with its produce time (for latency) and ground-truth marks."""

    table: str
    row: dict[str, Any] | None
    key: dict[str, Any] | None = None
    produced_at: float | None = None
    event_time_ms: int | None = None
    watermark_delay_ms: int | None = Field(None, description="the table's watermark delay, if any")
    late: bool = False
    malformed: str | None = None
    payload: str | None = Field(None, description="the value as sent, kept for malformed records")
    closing: bool = False
    partition: int = 0


class TableOutput(BaseModel):
    """Everything ctt knows about one output table after the run."""

    table: str
    columns: list[Column]
    updating: bool = False
    records: list[OutputRow] = Field(default_factory=list)
    expected_rows: list[dict[str, Any]] | None = None
    ordered: bool = False
    changelog: bool = False
    tolerance: float = 1e-9
    ignore_columns: list[str] = Field(default_factory=list)
    expected_count: int | None = None
    expected_columns: list[Column] | None = None
    key: list[str] = Field(default_factory=list, description="identity columns of a row or window")

    def identity(self) -> list[str]:
        """Declared key, else columns that name things (time, text, *_id) rather than measure them."""
        if self.key:
            return self.key
        out = []
        for c in self.columns:
            kind = base_type(c.type)
            if (
                kind.startswith("TIMESTAMP")
                or kind
                in (
                    "VARCHAR",
                    "STRING",
                    "CHAR",
                    "DATE",
                    "BOOLEAN",
                )
                or c.name == "id"
                or c.name.endswith("_id")
                or "window" in c.name
            ):
                out.append(c.name)
        return out


class SnapshotRef(BaseModel):
    """Where a test's snapshot lives and whether this run may write it (see ctt.expect.snapshot)."""

    path: Path
    command: str = Field(description="the command that (re)records it, shown when it is missing")
    update: bool = False
    ci: bool = Field(False, description="in CI a snapshot is never written")


class SpecRef(BaseModel):
    """The test as the user wrote it: assertions read its source tables and point at its lines."""

    test: FlinkTest
    file: Path
    lines: dict[str, int] = Field(default_factory=dict, description="validation name -> line")

    def where(self, validation: str) -> dict[str, Any]:
        """``file``/``line`` keyword arguments of a ConfigError about one validation."""
        return {"file": str(self.file), "line": self.lines.get(validation)}


class TargetTable(BaseModel):
    """What a ``sink:`` connector wrote into PostgreSQL, read back once it caught up.

    ``records`` are the table's rows as ``+I`` rows whose ``received_at`` is when a poll
    first saw that row (with those values): the end-to-end latency's arrival time.
    """

    output: str = Field(description="the Flink output table whose topic the connector read")
    table: str = Field(description="the run-scoped PostgreSQL table")
    columns: list[Column] = Field(description="PostgreSQL's column types, e.g. numeric(10,2)")
    records: list[OutputRow] = Field(default_factory=list)
    key: list[str] = Field(default_factory=list, description="primary key (upsert)")
    upsert: bool = False
    flattened: bool = Field(False, description="ROW fields became <row>_<field> columns")
    dead_letters: list[str] = Field(
        default_factory=list, description="values in the connector's dead-letter topic"
    )
    injected: list[str] = Field(
        default_factory=list, description="undecodable values ctt sent the connector"
    )
    connector: str = Field("", description="the run-scoped connector name")


class Restart(BaseModel):
    """One recovery of a job: from Flink's (first) failure to every task running again."""

    failed_at: float = Field(description="Unix seconds, from Flink's exception history")
    failures: int = Field(
        1, description="failures Flink recorded until the job ran again (restart attempts)"
    )
    recovered_at: float | None = Field(None, description="Unix seconds; None: not seen running")
    seconds: float | None = Field(None, description="time to recover (ctt.flinktest.restarts)")
    cause: str | None = None


class ValidationContext(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    test: str
    outputs: dict[str, TableOutput]
    inputs: list[InputRecord] = Field(default_factory=list)
    metrics: StatementMetrics = Field(default_factory=StatementMetrics)
    extra: dict[str, Any] = Field(default_factory=dict, description="oracle results and the like")
    dead_letters: TableOutput | None = Field(
        None, description="the dead-letter table (error_handling), kept out of `outputs`"
    )
    spec: SpecRef | None = Field(None, description="for assertions over the sources")
    restarts: list[Restart] = Field(
        default_factory=list, description="restarts ctt watched (job_survives with max_restarts)"
    )
    snapshot: SnapshotRef | None = Field(None, description="set when a snapshot applies")
    target: TargetTable | None = Field(None, description="the sink's table (`sink:`)")


class Outcome(BaseModel):
    """One validation's verdict with the numbers behind it and, on failure, a readable diff."""

    name: str
    passed: bool
    summary: str
    measured: float | None = None
    threshold: float | None = None
    details: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)

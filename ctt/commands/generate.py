"""What ``ctt generate`` does: resolve table and config, make sure the topic exists, produce, report.

The CLI parses arguments and calls :func:`run_generate`; output goes through
:class:`ctt.console.Output` (a rich progress bar for people, plain lines in CI,
one JSON document with ``--json``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ctt.config.datagen import Format, GeneratorConfig, TableShape
from ctt.console import Output
from ctt.datagen.ground_truth import GroundTruthHeader, GroundTruthWriter
from ctt.datagen.pipeline import generate_pipelined
from ctt.errors import UsageError
from ctt.kafka.record import GeneratedRecord

if TYPE_CHECKING:  # the Kafka client loads only when something is produced
    from ctt.kafka.produce import ProduceReport, RateSchedule

DEFAULT_TABLE = TableShape(
    name="user_events",
    columns=[
        ("user_id", "BIGINT"),
        ("event_type", "STRING"),
        ("event_timestamp", "TIMESTAMP(3)"),
        ("product_id", "STRING"),
        ("amount", "DECIMAL(10, 2)"),
        ("user_name", "STRING"),
        ("user_email", "STRING"),
        ("age", "INT"),
    ],
    key_columns=["user_id"],
    event_time="event_timestamp",
    watermark_delay_s=5.0,
    partitions=3,
)
"""The seed's user events (8 fields, ~200 bytes of JSON): used with ``--topic`` and no ``--spec``."""


class GenerateStats(BaseModel):
    """Final stats of ``ctt generate`` (also its ``--json`` document)."""

    topic: str
    table: str
    sent: int
    delivered: int
    errors: int
    bytes: int
    seconds: float
    records_per_s: float
    late: int
    malformed: int
    closing: int
    ground_truth: str | None
    bootstrap_servers: str


def table_from_spec(
    spec: Path, table: str, test: str | None
) -> tuple[TableShape, GeneratorConfig | None, str | None]:
    """The table's shape, its generator config (if the spec has one) and its fixed topic, if any."""
    from ctt.validate.registry import load_spec

    candidates = [t for t in load_spec(spec) if test is None or t.test.name == test]
    if test is not None and not candidates:
        raise UsageError(f"{spec}: no test named {test!r}")
    for loaded in candidates:
        tdef = loaded.test.tables.get(table)
        if tdef is None:
            continue
        shape = TableShape(
            name=table,
            columns=list(tdef.schema_.items()),
            key_columns=tdef.key_columns(),
            event_time=tdef.watermark.column if tdef.watermark else None,
            watermark_delay_s=tdef.watermark.delay if tdef.watermark else 0.0,
            partitions=tdef.partitions,
        )
        return shape, loaded.test.generated_data().get(table), tdef.topic
    known = sorted({name for t in candidates for name in t.test.tables})
    raise UsageError(
        f"{spec}: no table {table!r}" + (f" (tables: {', '.join(known)})" if known else "")
    )


def default_bootstrap() -> str:
    """The running local stack's Kafka, or a usage error that says how to get one."""
    try:
        from ctt.stack import state

        current = state.read()
    except ImportError:  # pragma: no cover - the stack package is always there
        current = None
    if current is None:
        raise UsageError(
            "no local stack is running and no --bootstrap-servers given",
            hint="start one with `ctt stack up`",
        )
    return current.bootstrap_servers


def run_generate(
    out: Output,
    *,
    spec: Path | None,
    table: str | None,
    test: str | None,
    topic: str | None,
    rate: float | None,
    count: int | None,
    duration: float | None,
    seed: int | None,
    ground_truth: Path | None,
    bootstrap_servers: str | None,
    data_format: Format | None,
    overrides: dict[str, Any] | None = None,
) -> GenerateStats:
    """Generate one table's stream into its topic; raise on any undelivered record."""
    from ctt.kafka.produce import RateSchedule

    shape, spec_cfg, spec_topic = _table(spec, table, test)
    topic = topic or spec_topic or shape.name
    given: dict[str, Any] = {
        "rate": rate,
        "duration": duration,
        "seed": seed,
        "format": data_format,
        **(overrides or {}),
    }
    cfg = _config(spec_cfg, given, count)
    bootstrap = bootstrap_servers or default_bootstrap()
    shape = _ensure_topic(out, bootstrap, topic, shape)

    gt_path = ground_truth or Path("ground-truth") / f"{topic}.jsonl"
    header = GroundTruthHeader(
        table=shape.name,
        topic=topic,
        seed=cfg.seed,
        partitions=shape.partitions,
        format=cfg.format.value,
        watermark_delay_ms=round(shape.watermark_delay_s * 1000),
        event_time_column=shape.event_time,
    )
    # checks settings against the table, then generates in a worker process while we produce
    records = generate_pipelined(shape, cfg)
    total = cfg.total_events() + (shape.partitions if cfg.closing and shape.event_time else 0)
    schedule = (
        RateSchedule(cfg.rate, cfg.pattern, period=cfg.period, burst_factor=cfg.burst_factor)
        if cfg.rate
        else None
    )
    writer = GroundTruthWriter(gt_path, header)
    report = _produce(out, records, topic, bootstrap, writer, schedule, total)
    stats = GenerateStats(
        topic=topic,
        table=shape.name,
        sent=report.sent,
        delivered=report.delivered,
        errors=report.failed + report.undelivered,
        bytes=report.bytes,
        seconds=round(report.seconds, 3),
        records_per_s=round(report.records_per_s, 1),
        late=report.late,
        malformed=report.malformed,
        closing=report.closing,
        ground_truth=str(gt_path),
        bootstrap_servers=bootstrap,
    )
    _show(out, stats)
    return stats


def _table(
    spec: Path | None, table: str | None, test: str | None
) -> tuple[TableShape, GeneratorConfig | None, str | None]:
    """The table to generate: one of the spec's with ``--spec``, else the seed's user events."""
    if spec is not None:
        if table is None:
            raise UsageError("--spec needs --table")
        return table_from_spec(spec, table, test)
    if table is not None:
        raise UsageError("--table needs --spec")
    return DEFAULT_TABLE, None, None


def _config(
    spec_cfg: GeneratorConfig | None, given: dict[str, Any], count: int | None
) -> GeneratorConfig:
    """The spec's generator settings with the command line's on top (``--count`` wins over
    ``events_per_key``)."""
    base = spec_cfg.model_dump(by_alias=False, exclude_unset=True) if spec_cfg else {}
    given = dict(given)
    if count is not None:
        given["count"] = count
        base.pop("events_per_key", None)
    try:
        return GeneratorConfig.model_validate(
            {**base, **{k: v for k, v in given.items() if v is not None}}
        )
    except ValueError as exc:
        raise UsageError(f"generator settings: {exc}") from None


def _ensure_topic(out: Output, bootstrap: str, topic: str, shape: TableShape) -> TableShape:
    """Create the topic if it is missing; a topic that exists keeps its partition count."""
    from ctt.kafka.admin import TopicAdmin
    from ctt.kafka.produce import topic_partitions

    existing = topic_partitions(bootstrap, topic)
    if existing is None:
        # old event times would expire at once under time-based retention: keep them
        TopicAdmin(bootstrap).create({topic: shape.partitions}, config={"retention.ms": "-1"})
        out.info(f"created topic {topic} ({shape.partitions} partitions)")
    elif existing != shape.partitions:
        shape = shape.model_copy(update={"partitions": existing})
    return shape


def _show(out: Output, stats: GenerateStats) -> None:
    """The final stats: one JSON document with ``--json``, else a small table."""
    if out.json_mode:
        out.emit_json(stats)
        return
    grid = Table(show_header=False, box=None)
    for name, value in (
        ("sent", f"{stats.sent:,}"),
        ("records/s", f"{stats.records_per_s:,.0f}"),
        ("bytes", f"{stats.bytes:,}"),
        ("errors", str(stats.errors)),
        ("late / malformed / closing", f"{stats.late} / {stats.malformed} / {stats.closing}"),
        ("ground truth", stats.ground_truth or "-"),
    ):
        grid.add_row(name, value)
    out.table(grid)


def _produce(
    out: Output,
    records: Iterable[GeneratedRecord],
    topic: str,
    bootstrap: str,
    writer: GroundTruthWriter,
    schedule: RateSchedule | None,
    total: int,
) -> ProduceReport:
    """Produce with a live bar in a terminal, a line every 5 s in CI logs."""
    from ctt.kafka.produce import produce

    report: ProduceReport
    if out.live:
        with Progress(
            TextColumn(f"[bold]{topic}[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=out.out,
            transient=True,
        ) as bar:
            task = bar.add_task("produce", total=total, rate="")
            report = produce(
                records,
                topic,
                bootstrap,
                ground_truth=writer,
                rate=schedule,
                progress=lambda p: bar.update(
                    task,
                    completed=p.delivered,
                    rate=f"{p.delivered / p.seconds:,.0f} rec/s" if p.seconds else "",
                ),
            )
    else:
        last = [time.monotonic()]

        def plain(p: Any) -> None:
            if time.monotonic() - last[0] >= 5.0:
                last[0] = time.monotonic()
                out.info(f"{topic}: {p.delivered}/{total} delivered")

        report = produce(
            records, topic, bootstrap, ground_truth=writer, rate=schedule, progress=plain
        )
    return report


def parse_cli_values(*, duration: str | None, data_format: str | None) -> dict[str, Any]:
    """Turn the CLI's text options into typed values, as usage errors when they are wrong."""
    from ctt.config.durations import parse_duration

    try:
        seconds = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    try:
        fmt = Format(data_format) if data_format is not None else None
    except ValueError:
        raise UsageError(f"--format must be one of: {', '.join(f.value for f in Format)}") from None
    return {"duration": seconds, "data_format": fmt}

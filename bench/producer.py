"""ctt's generator + producer against Kafka's own ProducerPerformance: same broker, record size, acks.

    uv run python bench/producer.py [--records 500000] [--rounds 2] [--with-plain]
                                    [--bootstrap-servers HOST:PORT] [--no-write]

ctt is measured end to end as ``ctt generate`` runs: records generated on the
fly in a worker process (8 fields, ~200 bytes of JSON), produced idempotently
with acks=all, every delivery report counted and the ground truth written.
``--with-plain`` also runs ctt with generation in the producing thread.
Kafka's tool sends pre-built 200-byte payloads with the same producer
settings. Each tool runs ``--rounds`` times, alternating (who goes first
alternates too), on fresh 3-partition topics; the best rounds, the medians and
each round's pair are compared. Results go to the "Data generator" section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from ctt.commands.generate import DEFAULT_TABLE
from ctt.config.datagen import GeneratorConfig
from ctt.datagen.generate import generate
from ctt.datagen.ground_truth import GroundTruthHeader, GroundTruthWriter
from ctt.datagen.pipeline import generate_pipelined
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.produce import produce

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Data generator: ctt generate vs Kafka ProducerPerformance"
PARTITIONS = 3


def _machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()
    total = mem[1].split()[1] if len(mem) > 1 else "?"
    return f"{nproc} cores ({cpu}), {total} GB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def run_ctt(
    bootstrap: str, topic: str, records: int, *, plain: bool = False
) -> tuple[float, float]:
    """records/s and average value bytes of one end-to-end ctt run.

    As ``ctt generate`` runs: generated in a worker process while this one
    produces (``generate_pipelined``); ``plain``: all in this thread (``generate``).
    """
    cfg = GeneratorConfig(count=records, keys=1000, closing=False)
    with tempfile.TemporaryDirectory() as tmp:
        header = GroundTruthHeader(
            table=DEFAULT_TABLE.name,
            topic=topic,
            seed=cfg.seed,
            partitions=PARTITIONS,
            format="json",
            watermark_delay_ms=5000,
        )
        report = produce(
            generate(DEFAULT_TABLE, cfg) if plain else generate_pipelined(DEFAULT_TABLE, cfg),
            topic,
            bootstrap,
            ground_truth=GroundTruthWriter(Path(tmp) / "gt.jsonl", header),
        )
    return report.records_per_s, report.bytes / max(report.delivered, 1)


def generation_only(records: int) -> float:
    """records/s of the generator alone (no Kafka), to show where ctt's time goes."""
    cfg = GeneratorConfig(count=records, keys=1000, closing=False)
    started = time.perf_counter()
    n = sum(1 for _ in generate(DEFAULT_TABLE, cfg))
    return n / (time.perf_counter() - started)


def kafka_command(libs: Path, bootstrap: str, topic: str, records: int) -> list[str]:
    return [
        "java",
        "-Xmx512m",
        "-cp",
        f"{libs}/*",
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(records),
        "--record-size",
        "200",
        "--throughput",
        "-1",
        "--producer-props",
        f"bootstrap.servers={bootstrap}",
        "acks=all",
        "enable.idempotence=true",
    ]


def run_kafka(libs: Path, bootstrap: str, topic: str, records: int) -> float:
    proc = subprocess.run(
        kafka_command(libs, bootstrap, topic, records),
        capture_output=True,
        text=True,
        timeout=600,
    )
    match = re.search(r"(\d+) records sent, ([\d.]+) records/sec", proc.stdout)
    if proc.returncode != 0 or not match:
        sys.exit(f"ProducerPerformance failed:\n{proc.stdout}\n{proc.stderr}")
    return float(match.group(2))


def write_section(body: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body.rstrip("\n") + "\n\n" + (text[nxt + 1 :] if nxt != -1 else "")
    DOC.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--no-write", action="store_true", help="print, do not update the doc")
    parser.add_argument(
        "--with-plain",
        action="store_true",
        help="also run ctt with generation in the producing thread (generate() + produce())",
    )
    args = parser.parse_args()

    from ctt.stack import artifacts, state

    current = state.read()
    bootstrap = args.bootstrap_servers or (current.bootstrap_servers if current else None)
    if bootstrap is None:
        sys.exit("no local stack: run `ctt stack up` or pass --bootstrap-servers")
    lay = artifacts.layout()
    admin = TopicAdmin(bootstrap)
    tools = ["kafka", "ctt"] + (["ctt-plain"] if args.with_plain else [])
    runs: dict[str, list[float]] = {tool: [] for tool in tools}
    loads: list[float] = []
    value_bytes = 0.0
    run_id = uuid.uuid4().hex[:6]
    for rnd in range(args.rounds):
        loads.append(os.getloadavg()[0])
        # alternate who goes first: the broker is busiest right after a run (log flush, GC)
        for tool in tools if rnd % 2 == 0 else tools[::-1]:
            topic = f"ctt-bench-{tool}-{run_id}-{rnd}"
            admin.create({topic: PARTITIONS}, config={"retention.ms": "-1"})
            try:
                if tool == "kafka":
                    runs[tool].append(run_kafka(lay.kafka_libs, bootstrap, topic, args.records))
                else:
                    rate, value_bytes = run_ctt(
                        bootstrap, topic, args.records, plain=tool == "ctt-plain"
                    )
                    runs[tool].append(rate)
            finally:
                admin.delete([topic])
            print(f"round {rnd + 1} {tool}: {runs[tool][-1]:,.0f} records/s")
            time.sleep(3)  # let the broker settle between runs
    loads.append(os.getloadavg()[0])
    gen_rate = generation_only(min(args.records, 200_000))
    ctt_runs, kafka_runs = runs["ctt"], runs["kafka"]
    best_ctt, best_kafka = max(ctt_runs), max(kafka_runs)
    med_ctt, med_kafka = statistics.median(ctt_runs), statistics.median(kafka_runs)
    paired = [c / k for c, k in zip(ctt_runs, kafka_runs, strict=True)]
    versions = artifacts.load_versions()

    def row(tool: str, label: str, what: str) -> str:
        got = runs[tool]
        return (
            f"| {label} | {what} | {max(got):,.0f} | {statistics.median(got):,.0f} "
            f"| {', '.join(f'{r:,.0f}' for r in got)} |"
        )

    plain_row = (
        "\n"
        + row(
            "ctt-plain",
            "ctt, all in one thread (`generate` + `produce`)",
            "the same work and generator, without the worker process",
        )
        if args.with_plain
        else ""
    )
    opts = " --with-plain" if args.with_plain else ""
    body = f"""{SECTION}

Command: `uv run python bench/producer.py --records {args.records} --rounds {args.rounds}{opts}`
(measured {time.strftime("%Y-%m-%d %H:%M")} UTC, local stack broker: Kafka {versions.kafka.version},
KRaft, one node, topics of {PARTITIONS} partitions; the Flink processes of the stack were running, idle).

Machine: {_machine()}.
Load average (1 min) before each round and at the end: {", ".join(f"{v:.1f}" for v in loads)}
on {os.cpu_count()} cores. The machine is shared with other work; the broker, ctt and Kafka's tool
share the same cores, so rounds vary.

| tool | what it does per record | best records/s | median | all rounds |
|---|---|---|---|---|
{row("ctt", "ctt (`generate_pipelined` + `produce`, as `ctt generate`)", f"generates 8 fields (faker pools, decimal, timestamp; ~{value_bytes:.0f} B JSON value + key) in a worker process; idempotent acks=all, counts the delivery report, writes the ground-truth line")}{plain_row}
{row("kafka", "Kafka `ProducerPerformance`", "sends a pre-built 200-byte payload, acks=all, enable.idempotence=true")}

**ctt / Kafka = {best_ctt / best_kafka:.0%} (best rounds), {med_ctt / med_kafka:.0%} (medians);
per round (same minute): {", ".join(f"{r:.0%}" for r in paired)}** (target: >= 50%).

How ctt gets there: `ctt generate` runs the generator (`ctt.datagen.pipeline`) in a forked worker
process that makes the records in batches of 1,000 (rows built a column at a time), encodes them and
renders each ground-truth line except its offset; the main process only sends, counts delivery
reports and writes the lines with the offsets. The generator alone (one thread, no Kafka) runs at
{gen_rate:,.0f} records/s ({1e6 / gen_rate:.1f} us per record). Kafka's tool builds no records and
keeps no per-record state, and its producer runs on the JVM's own threads.

Kafka's command: `java -cp "<kafka libs>/*" org.apache.kafka.tools.ProducerPerformance --topic T
--num-records {args.records} --record-size 200 --throughput -1 --producer-props bootstrap.servers=...
acks=all enable.idempotence=true`. ctt's producer settings: `linger.ms=10`, `batch.size=1000000`,
`batch.num.messages=10000`, explicit partition per record (murmur2 of the key, as Java's
partitioner), record timestamp = event time. ctt's records/s is `produce()`'s own figure (delivered
records over the time from the first send to the last delivery report); its worker starts when the
records are created, just before, and may run at most 8 batches (8,000 records) ahead of it.
"""
    print(body)
    if not args.no_write:
        write_section(body)
        print(f"written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

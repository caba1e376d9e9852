"""Oracle speed: 1 million ground-truth events evaluated without Flink (target <= 10 s).

    uv run python bench/oracle.py [--events 1000000]

The events come from the generator (the seed's user_events shape, 1,000 users, 24 hours,
5% late) and are handed to :func:`ctt.oracle.compute_expected` exactly as the runner
does after a run. Timed: loading the ground truth into DuckDB, the watermark model and
evaluating each query (legacy tumble = the seed's windowed_aggregation, hop TVF with
late drops counted per accumulator, session TVF simulated event by event). Results go to
the "Oracle speed" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench._common import machine, replace_section
from ctt.config.datagen import GeneratorConfig
from ctt.config.spec import FlinkTest
from ctt.datagen.generate import generate
from ctt.flinktest.inputs import shape_of
from ctt.observed.model import InputRecord
from ctt.oracle import compute_expected

QUERIES = {
    "legacy TUMBLE 1 h (seed windowed_aggregation)": """
CREATE TABLE out AS SELECT user_id, TUMBLE_START(event_timestamp, INTERVAL '1' HOUR) AS window_start,
  COUNT(*) AS event_count, SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchase_count
FROM user_events GROUP BY user_id, TUMBLE(event_timestamp, INTERVAL '1' HOUR);""",
    "HOP 10 min / 30 min TVF": """
CREATE TABLE out AS SELECT user_id, window_start, window_end, COUNT(*) AS n
FROM TABLE(HOP(TABLE user_events, DESCRIPTOR(event_timestamp), INTERVAL '10' MINUTES, INTERVAL '30' MINUTES))
GROUP BY user_id, window_start, window_end;""",
    "SESSION 5 min TVF": """
CREATE TABLE out AS SELECT user_id, window_start, window_end, COUNT(*) AS n
FROM TABLE(SESSION(TABLE user_events PARTITION BY user_id, DESCRIPTOR(event_timestamp), INTERVAL '5' MINUTES))
GROUP BY user_id, window_start, window_end;""",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2, help="best of N (the machine is shared)")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    test = FlinkTest.model_validate(
        {
            "flink_sql": "x",
            "tables": {
                "user_events": {
                    "schema": {
                        "user_id": "BIGINT",
                        "event_type": "STRING",
                        "event_timestamp": "TIMESTAMP(3)",
                    },
                    "watermark": "event_timestamp - INTERVAL '5' SECOND",
                }
            },
        }
    )
    cfg = GeneratorConfig(
        count=args.events, keys=1000, time_range=86400, late_data_percentage=0.05, closing=False
    )
    t0 = time.perf_counter()
    recs = [
        InputRecord.model_construct(
            table="user_events",
            row=r.fields,
            event_time_ms=r.event_time_ms,
            watermark_delay_ms=5000,
            late=r.late,
            partition=r.partition,
            malformed=None,
            closing=False,
        )
        for r in generate(shape_of("user_events", test.tables["user_events"]), cfg)
    ]
    gen_s = time.perf_counter() - t0
    lines = [
        f"{args.events:,} generated events (1,000 users, 24 h, 5% late); generating them took "
        f"{gen_s:.1f} s (not part of the oracle's time).",
        "",
        f"Oracle time = load into DuckDB + watermark model + query, best of {args.rounds}.",
        "",
        "| query | output rows | late sent | expected dropped | oracle time |",
        "|---|---:|---:|---:|---:|",
    ]
    worst = 0.0
    for name, sql in QUERIES.items():
        took = float("inf")
        for _ in range(args.rounds):
            t = time.perf_counter()
            res = compute_expected(test, "out", sql=sql, columns=[], inputs={"user_events": recs})
            took = min(took, time.perf_counter() - t)
        worst = max(worst, took)
        lines.append(
            f"| {name} | {len(res.rows):,} | {res.late_sent:,} | {res.expected_late_dropped} | "
            f"{took:.2f} s |"
        )
        print(lines[-1], flush=True)
    verdict = "meets" if worst <= 10 else "misses"
    lines += ["", f"Slowest query {worst:.2f} s: {verdict} the <= 10 s target."]
    if not args.no_write:
        replace_section(
            "Oracle speed",
            "\n".join(lines),
            "uv run python bench/oracle.py"
            + (f" --events {args.events}" if args.events != 1_000_000 else ""),
            machine(),
        )
    print("\n".join(lines[-1:]))
    return 0 if worst <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())

"""One tiny job through the SQL Gateway as the last step of `ctt stack up`.

A fresh stack's first statement pays for class loading and code generation in the gateway's
planner (seconds on 2 cores), and its first job for the TaskManager's first task deployment.
Without this, the user's first test pays both (the fast-feedback issue measured the first test on
a fresh stack at 3-4x a warm one). The warm-up plans and runs a bounded Kafka-to-Kafka job over an
empty topic and waits for it to finish; a failure only costs the warm-up, never the stack.
"""

from __future__ import annotations

import contextlib
import time

from ctt.engines.base import TERMINAL_PHASES
from ctt.errors import CttError
from ctt.polling import Backoff
from ctt.stack.state import StackState

TOPIC = "__ctt_warmup"


def _sql(bootstrap: str) -> tuple[str, ...]:
    """A bounded Kafka source on an empty topic into a Kafka sink: the connector and JSON format
    classes every test uses, loaded once here."""
    kafka = f"'connector' = 'kafka', 'topic' = '{TOPIC}', 'properties.bootstrap.servers' = '{bootstrap}'"
    return (
        "CREATE TEMPORARY TABLE ctt_warmup_src (id BIGINT, name STRING, ts TIMESTAMP(3), "
        f"WATERMARK FOR ts AS ts) WITH ({kafka}, 'format' = 'json', "
        "'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset')",
        "CREATE TEMPORARY TABLE ctt_warmup_sink (id BIGINT, name STRING, ts TIMESTAMP(3)) "
        f"WITH ({kafka}, 'format' = 'json')",
    )


_JOB = "INSERT INTO ctt_warmup_sink SELECT id, UPPER(name), ts FROM ctt_warmup_src WHERE id > 0"


def warm_up(state: StackState, *, deadline_s: float = 90.0) -> str:
    """Run the warm-up job; what happened, in a few words, for the stack's progress line."""
    from ctt.engines.local import LocalEngine
    from ctt.kafka.admin import TopicAdmin

    t0 = time.monotonic()
    admin = TopicAdmin(state.bootstrap_servers)
    try:
        admin.create({TOPIC: 1})
        engine = LocalEngine(state.gateway_url, state.flink_rest_url)
    except CttError as exc:
        return f"warm-up skipped: {exc}"
    try:
        for ddl in _sql(state.bootstrap_servers):
            engine.run(ddl)
        handle = engine.submit(_JOB, name="ctt-warmup")
        backoff = Backoff(0.2)
        while (phase := engine.status(handle).phase) not in TERMINAL_PHASES:
            if time.monotonic() - t0 > deadline_s:
                engine.delete(handle)
                return f"warm-up job still {phase.value} after {deadline_s:.0f}s: left it"
            backoff.wait()
        return f"gateway and TaskManager warmed up in {time.monotonic() - t0:.1f}s"
    except CttError as exc:
        return f"warm-up failed (the stack is fine): {exc}"
    finally:
        with contextlib.suppress(CttError):
            engine.close()
        with contextlib.suppress(CttError):
            admin.delete([TOPIC])

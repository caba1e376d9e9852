"""What a user can choose about the local stack, and the optional components it can add.

The default stack is Kafka plus a Flink session cluster with the SQL Gateway.
``--with connect,postgres`` (or ``CTT_STACK_WITH``) adds a Kafka Connect worker
with the JDBC sink plugin and a PostgreSQL server, the target of sink
connectors.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from ctt.errors import UsageError

__all__ = ["Extra", "StackSettings", "parse_extras"]

_WORD = re.compile(r"[A-Za-z0-9._-]+")  # goes into a JAAS line unquoted-safe


class Extra(StrEnum):
    """An optional component of the local stack."""

    CONNECT = "connect"
    POSTGRES = "postgres"


def parse_extras(text: str | None) -> frozenset[Extra]:
    """``"connect,postgres"`` -> {CONNECT, POSTGRES}; blanks and repeats are fine, unknown names are not."""
    names = [part.strip().lower() for part in (text or "").split(",")]
    known = {e.value: e for e in Extra}
    unknown = sorted({n for n in names if n and n not in known})
    if unknown:
        raise UsageError(
            f"unknown stack component{'s' if len(unknown) > 1 else ''} in --with: "
            + ", ".join(repr(n) for n in unknown),
            hint=f"choose from: {', '.join(known)} (comma-separated)",
        )
    return frozenset(known[n] for n in names if n)


C1_ONLY = ("-XX:TieredStopAtLevel=1",)
"""Test jobs are small and short: C2's optimising compiles cost more CPU than they return.

Measured on 2 cores (docs/benchmarks.md, "JIT"): the shipped specs on a fresh stack 82.7 s ->
50.9 s, warm 43-44 s -> 37-39 s; TaskManager CPU per run 9-11 s -> 2.5 s. A throughput
benchmark on the stack may want ``jvm_options=()`` (full tiered compilation)."""


FINISHED_JOBS_KEPT = 100
"""The JobManager's store of finished jobs is bounded (Flink keeps every one for an hour).

Each refresh of the REST metric cache (every 200 ms while ctt reads watermarks or counters)
lists every job the JobManager knows, finished ones included: on a stack that had run the
shipped specs four times (165 jobs) a refresh took 30 ms of dispatcher CPU, and the
dispatcher's CPU per run grew 1.5 -> 4.0 s. A test reads its finished job for a few seconds
at most; 100 keeps the last two runs' jobs for the web UI."""


class StackSettings(BaseModel):
    """What a user can choose about the stack; ports of 0 are picked free."""

    slots: int = 4
    kafka_port: int = 0
    flink_port: int = 0
    gateway_port: int = 0
    connect_port: int = 0
    postgres_port: int = 0
    extras: frozenset[Extra] = Field(default_factory=frozenset)
    kafka_sasl_users: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="with users: a SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256/512) beside "
        "the plaintext one, for testing a secured Kafka; the passwords go to the broker only",
    )
    kafka_tls: bool = Field(
        False,
        description="with kafka_sasl_users: also a SASL_SSL listener, its certificate from a CA "
        "of the stack's own (<run>/conf/tls/ca.pem, see ctt.stack.certs)",
    )
    kafka_heap: str = "512m"
    jobmanager_memory: str = "800m"
    taskmanager_memory: str = "1600m"
    gateway_heap: str = "384m"
    connect_heap: str = "512m"
    jvm_options: tuple[str, ...] = Field(
        C1_ONLY,
        description="options for every JVM of the stack; the default compiles with C1 only",
    )
    finished_jobs_kept: int = Field(
        FINISHED_JOBS_KEPT,
        ge=1,
        description="finished jobs the JobManager keeps (jobstore.max-capacity); see its note",
    )
    start_deadline_s: float = 90.0
    extras_start_deadline_s: float = 150.0  # with Connect/PostgreSQL: more JVM work at once
    stop_deadline_s: float = 15.0
    warm_up: bool = Field(
        True, description="run one tiny job at the end of `up`, so the first test is not cold"
    )

    @model_validator(mode="after")
    def _tls_needs_users(self) -> StackSettings:
        if self.kafka_tls and not self.kafka_sasl_users:
            raise ValueError("kafka_tls adds a SASL_SSL listener: give kafka_sasl_users too")
        return self

    def wants(self, extra: Extra) -> bool:
        return extra in self.extras

    @field_validator("kafka_sasl_users")
    @classmethod
    def _plain_words(cls, users: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for user, password in users.items():
            if not (_WORD.fullmatch(user) and _WORD.fullmatch(password.get_secret_value())):
                raise ValueError("SASL users and passwords: letters, digits, '.', '_', '-' only")
        return users

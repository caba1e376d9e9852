"""What a user can choose about the local stack, and the optional components it can add.

The default stack is Kafka plus a Flink session cluster with the SQL Gateway.
``--with connect,postgres`` (or ``CTT_STACK_WITH``) adds a Kafka Connect worker
with the JDBC sink plugin and a PostgreSQL server, the target of sink
connectors.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from ctt.errors import UsageError

__all__ = ["Extra", "StackSettings", "parse_extras"]


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


class StackSettings(BaseModel):
    """What a user can choose about the stack; ports of 0 are picked free."""

    slots: int = 4
    kafka_port: int = 0
    flink_port: int = 0
    gateway_port: int = 0
    connect_port: int = 0
    postgres_port: int = 0
    extras: frozenset[Extra] = Field(default_factory=frozenset)
    kafka_heap: str = "512m"
    jobmanager_memory: str = "800m"
    taskmanager_memory: str = "1600m"
    gateway_heap: str = "384m"
    connect_heap: str = "512m"
    start_deadline_s: float = 90.0
    extras_start_deadline_s: float = 150.0  # with Connect/PostgreSQL: more JVM work at once
    stop_deadline_s: float = 15.0

    def wants(self, extra: Extra) -> bool:
        return extra in self.extras

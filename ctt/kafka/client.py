"""The runner's seam to Kafka: topic admin, produce and read back, behind one protocol.

:class:`ConfluentKafka` is the real thing (confluent-kafka, errors translated in
``admin``/``produce``/``consume``); ``ctt.kafka.memory.MemoryKafka`` is the in-memory
twin the runner's unit tests use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ctt.kafka.admin import TopicAdmin
from ctt.kafka.consume import ConsumedRecord, TopicReader
from ctt.kafka.produce import produce
from ctt.kafka.record import GeneratedRecord

OnSent = Callable[[GeneratedRecord, float], None]


class OutputReader(Protocol):
    """Reads every record of some topics from the beginning (see ``consume.TopicReader``)."""

    records: list[ConsumedRecord]

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def read_until(
        self, done: Callable[[list[ConsumedRecord]], bool], *, deadline_s: float, quiet_s: float
    ) -> bool: ...

    def read_to_end(self, *, deadline_s: float) -> None: ...

    def close(self) -> None: ...


class KafkaClient(Protocol):
    bootstrap_servers: str

    def create_topics(self, topics: dict[str, int]) -> None:
        """Create topics (name -> partitions); existing ones are fine."""
        ...

    def delete_topics(self, topics: Iterable[str]) -> list[str]: ...

    def produce(
        self,
        records: list[GeneratedRecord],
        topic: str,
        *,
        on_sent: OnSent | None = None,
        producer_config: dict[str, Any] | None = None,
    ) -> None:
        """Send and wait for every delivery; raise InfraError if any failed."""
        ...

    def reader(self, topics: list[str]) -> OutputReader: ...


class ConfluentKafka:
    """:class:`KafkaClient` over confluent-kafka."""

    def __init__(self, bootstrap_servers: str, *, config: dict[str, str] | None = None) -> None:
        """``config``: librdkafka settings every client gets (e.g. SASL for Confluent Cloud)."""
        self.bootstrap_servers = bootstrap_servers
        self.config = dict(config or {})
        self._admin: TopicAdmin | None = None

    @property
    def admin(self) -> TopicAdmin:
        """Made on first use: an AdminClient costs a connection."""
        if self._admin is None:
            self._admin = TopicAdmin(self.bootstrap_servers, config=self.config)
        return self._admin

    def create_topics(self, topics: dict[str, int]) -> None:
        self.admin.create(topics)

    def delete_topics(self, topics: Iterable[str]) -> list[str]:
        return self.admin.delete(topics)

    def produce(
        self,
        records: list[GeneratedRecord],
        topic: str,
        *,
        on_sent: OnSent | None = None,
        producer_config: dict[str, Any] | None = None,
    ) -> None:
        produce(
            records,
            topic,
            self.bootstrap_servers,
            on_sent=on_sent,
            producer_config={**self.config, **(producer_config or {})}
            if self.config
            else producer_config,
        )

    def reader(self, topics: list[str]) -> OutputReader:
        return TopicReader(self.bootstrap_servers, topics, config=self.config)

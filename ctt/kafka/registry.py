"""Kafka through Schema Registry: records framed with their subject's schema id, as Confluent Cloud reads them.

In Confluent Cloud a table's topic has schemas under ``<topic>-key`` and
``<topic>-value`` (``CREATE TABLE`` registers them), and every record starts with
magic byte 0 and the id of its writer schema. Plain JSON in such a topic is a
record Flink cannot deserialize. Everything above the Kafka client in ctt speaks
JSON-form rows (timestamps as ``yyyy-MM-dd HH:mm:ss.SSS``, decimals as numbers),
so :class:`RegistryCodec` translates at the boundary:

* produced values (and keys) are serialized with the subject's *latest* Avro
  schema, the one the table registered; ctt never registers a schema of its own,
  so what it writes is what the table declares;
* consumed values (and keys) are deserialized with the writer schema their id
  names, and handed on as the JSON bytes a local engine's topic would hold.

A topic without a subject (a ``raw`` table) passes through unchanged. The
serializers are confluent-kafka's own (``AvroSerializer``/``AvroDeserializer``);
this module only converts values to and from the JSON form. It is imported only
by a Confluent run: the registry client pulls in authlib and cryptography.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from ctt.errors import InfraError
from ctt.kafka.client import ConfluentKafka, OnSent, OutputReader
from ctt.kafka.consume import TopicReader
from ctt.kafka.record import GeneratedRecord, json_scalar

__all__ = ["RegistryCodec", "RegistryError", "RegistryKafka", "registry_client"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_FOUND = 40401  # subject not found
# Subjects are <topic>-key/-value, as Confluent Cloud's CREATE TABLE names them. Said
# explicitly: the client's default looks up "associations" first, one more round trip.
_TOPIC_SUBJECTS: dict[str, Any] = {"subject.name.strategy.type": "TOPIC"}


class RegistryError(InfraError):
    """Schema Registry refused or could not answer; or a value does not fit its schema."""


def registry_client(url: str, api_key: str | None, api_secret: str | None) -> SchemaRegistryClient:
    """A client for the registry at ``url``, with the API key as basic auth when given."""
    conf: dict[str, Any] = {"url": url.rstrip("/")}
    if api_key:
        conf["basic.auth.user.info"] = f"{api_key}:{api_secret or ''}"
    return SchemaRegistryClient(conf)


# ---------------------------------------------------------------- JSON form <-> Avro values


def _branches(schema: Any) -> list[Any]:
    return schema if isinstance(schema, list) else [schema]


def _logical(schema: Any) -> str | None:
    return schema.get("logicalType") if isinstance(schema, dict) else None


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.strip().rstrip("Z").replace(" ", "T"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def to_avro(schema: Any, value: Any) -> Any:
    """A JSON-form value as fastavro writes it under ``schema`` (a parsed schema or a name)."""
    if value is None:
        return None
    branches = [b for b in _branches(schema) if b != "null"]
    if not branches:
        return value
    s = branches[0]
    kind = s.get("type") if isinstance(s, dict) else s
    logical = _logical(s)
    # integer arithmetic: total_seconds() * 1000 is a float and truncates .001 to .000
    if logical in ("timestamp-millis", "local-timestamp-millis") and isinstance(value, str):
        return (_parse_time(value) - _EPOCH) // timedelta(milliseconds=1)
    if logical in ("timestamp-micros", "local-timestamp-micros") and isinstance(value, str):
        return (_parse_time(value) - _EPOCH) // timedelta(microseconds=1)
    if logical == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if logical == "decimal":
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-int(s.get("scale", 0))))
    if logical in ("time-millis", "time-micros") and isinstance(value, str):
        return time.fromisoformat(value)
    if kind == "bytes" and isinstance(value, str):
        return value.encode()
    if kind == "record" and isinstance(value, dict):
        return {f["name"]: to_avro(f["type"], value.get(f["name"])) for f in s["fields"]}
    if kind == "array" and isinstance(value, list):
        return [to_avro(s["items"], v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: to_avro(s["values"], v) for k, v in value.items()}
    return value


def to_json_form(value: Any) -> Any:
    """A value fastavro read, as Flink's JSON format would have written it (SQL timestamps)."""
    if isinstance(value, dict):
        return {k: to_json_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_form(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return json_scalar(value)


# ---------------------------------------------------------------- the codec


class RegistryCodec:
    """Frames and unframes one run's records; one registry client, schemas cached per subject."""

    def __init__(self, client: SchemaRegistryClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._writers: dict[str, tuple[Any, Callable[..., bytes | None]] | None] = {}
        self._reader = AvroDeserializer(client, conf=_TOPIC_SUBJECTS)

    def _writer(self, subject: str) -> tuple[Any, Callable[..., bytes | None]] | None:
        """(schema, serializer) for a subject's latest schema; None when the subject has none."""
        with self._lock:
            if subject not in self._writers:
                self._writers[subject] = self._load(subject)
            return self._writers[subject]

    def _load(self, subject: str) -> tuple[Any, Callable[..., bytes | None]] | None:
        try:
            latest = self.client.get_latest_version(subject)
        except SchemaRegistryError as exc:
            if exc.error_code == _NOT_FOUND:
                return None
            raise RegistryError(f"Schema Registry: cannot read subject {subject}: {exc}") from exc
        schema = latest.schema
        if schema is None or not schema.schema_str or (schema.schema_type or "AVRO") != "AVRO":
            kind = schema.schema_type if schema is not None else "no schema"
            raise RegistryError(
                f"subject {subject} holds a {kind} schema; ctt produces and reads Avro "
                "(tables it declares use 'avro-registry')"
            )
        parsed = json.loads(schema.schema_str)
        serializer = AvroSerializer(
            self.client,
            schema.schema_str,
            conf={"auto.register.schemas": False, "use.latest.version": True, **_TOPIC_SUBJECTS},
        )
        return parsed, serializer

    def encode(self, topic: str, field: MessageField, doc: Any) -> bytes | None:
        """A JSON-form value as framed Avro; None when the topic's subject for ``field`` has no schema."""
        writer = self._writer(f"{topic}-{'key' if field == MessageField.KEY else 'value'}")
        if writer is None:
            return None
        schema, serialize = writer
        try:
            return serialize(to_avro(schema, doc), SerializationContext(topic, field))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise RegistryError(
                f"a record for {topic} does not fit the schema of its subject: {exc}"
            ) from exc

    def decode(self, topic: str, field: MessageField, raw: bytes | None) -> bytes | None:
        """Framed Avro -> JSON bytes; anything without the magic byte passes through."""
        if not raw or raw[0] != 0 or len(raw) < 5:
            return raw
        try:
            doc = self._reader(raw, SerializationContext(topic, field))
        except SchemaRegistryError as exc:
            raise RegistryError(f"Schema Registry: cannot read a record of {topic}: {exc}") from exc
        return json.dumps(to_json_form(doc)).encode()

    def record(self, topic: str, rec: GeneratedRecord) -> GeneratedRecord:
        """The record as the table's topic needs it.

        The value comes from ``fields`` (whatever the local format's bytes were); a
        record without fields (a tombstone, a malformed record on purpose) and a raw
        key are sent as they are: they reach the table as the test meant them to.
        """
        value = rec.value
        if rec.fields is not None:
            value = self.encode(topic, MessageField.VALUE, rec.fields) or value
        key = rec.key
        if key is not None:
            try:
                doc = json.loads(key)
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                key = self.encode(topic, MessageField.KEY, doc) or key
        return dataclasses.replace(rec, key=key, value=value)

    def delete_subjects(self, topics: Iterable[str]) -> None:
        """Remove the subjects of deleted topics (soft, then permanently): no schema outlives its run."""
        for topic in topics:
            for subject in (f"{topic}-key", f"{topic}-value"):
                for permanent in (False, True):
                    try:
                        self.client.delete_subject(subject, permanent=permanent)
                    except SchemaRegistryError as exc:
                        if exc.error_code != _NOT_FOUND:
                            raise RegistryError(
                                f"Schema Registry: cannot delete subject {subject}: {exc}"
                            ) from exc
                        break


class RegistryKafka(ConfluentKafka):
    """:class:`~ctt.kafka.client.KafkaClient` for topics behind Schema Registry."""

    def __init__(
        self,
        bootstrap_servers: str,
        codec: RegistryCodec,
        *,
        config: dict[str, str] | None = None,
    ) -> None:
        super().__init__(bootstrap_servers, config=config)
        self.codec = codec

    def delete_topics(self, topics: Iterable[str]) -> list[str]:
        names = list(topics)
        deleted = super().delete_topics(names)
        self.codec.delete_subjects(names)
        return deleted

    def produce(
        self,
        records: list[GeneratedRecord],
        topic: str,
        *,
        on_sent: OnSent | None = None,
        producer_config: dict[str, Any] | None = None,
    ) -> None:
        framed = [self.codec.record(topic, r) for r in records]
        by_framed = dict(zip(map(id, framed), records, strict=True))

        def sent(rec: GeneratedRecord, at: float) -> None:
            if on_sent is not None:
                on_sent(by_framed.get(id(rec), rec), at)  # callers see the record they gave

        super().produce(framed, topic, on_sent=sent, producer_config=producer_config)

    def reader(self, topics: list[str]) -> OutputReader:
        codec = self.codec

        def decode(
            topic: str, key: bytes | None, value: bytes | None
        ) -> tuple[bytes | None, bytes | None]:
            return (
                codec.decode(topic, MessageField.KEY, key),
                codec.decode(topic, MessageField.VALUE, value),
            )

        return TopicReader(self.bootstrap_servers, topics, config=self.config, decode=decode)

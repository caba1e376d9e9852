"""The connector ctt creates for a test: its run-scoped names and its Debezium JDBC sink settings.

Names carry the run id, as topics do (``ctt.kafka.naming``): the connector is
``ctt.<run>.<test>``, the table ``<table>_<digest of run and test>`` (PostgreSQL allows
63 characters), the dead-letter topic ``ctt.<run>.<test>.sink-dlq``. ``sink.config``
is passed through last; the settings naming the topic, table and database stay ctt's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from pydantic import BaseModel

from ctt.config.sink import Nested, SinkConfig, SinkMode
from ctt.kafka.naming import PREFIX, run_id_of, scoped, slug
from ctt.sink.connect import ConnectClient

CONNECTOR_CLASS = "io.debezium.connector.jdbc.JdbcSinkConnector"
JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
STRING_CONVERTER = "org.apache.kafka.connect.storage.StringConverter"
FLATTEN = "org.apache.kafka.connect.transforms.Flatten$Value"
FLATTEN_DELIMITER = "_"


class Endpoints(BaseModel):
    """Where the connector and the reader find their systems (from the stack state)."""

    connect_url: str
    postgres_dsn: str = ""
    jdbc_url: str
    jdbc_user: str = "ctt"
    jdbc_password: str = "ctt"


class Names(BaseModel):
    connector: str
    table: str
    dead_letter_topic: str | None


def names(sink: SinkConfig, *, run_id: str, scope: str, output: str) -> Names:
    """The run-scoped names of one test's connector, table and dead-letter topic."""
    digest = hashlib.sha1(f"{run_id}/{scope}".encode()).hexdigest()[:10]
    return Names(
        connector=f"{PREFIX}.{run_id}.{slug(scope)[:60]}",
        table=sink.target_name(output, digest),
        dead_letter_topic=scoped(run_id, scope, "sink-dlq") if sink.dead_letter_topic else None,
    )


def connector_config(
    sink: SinkConfig, *, topic: str, names: Names, endpoints: Endpoints
) -> dict[str, str]:
    """The connector's settings: what ``sink:`` says, in the Debezium JDBC sink's terms."""
    upsert = sink.mode is SinkMode.UPSERT
    schemas = str(sink.schemas).lower()
    config = {
        "connector.class": CONNECTOR_CLASS,
        "tasks.max": "1",
        "topics": topic,
        "connection.url": endpoints.jdbc_url,
        "connection.username": endpoints.jdbc_user,
        "connection.password": endpoints.jdbc_password,
        "collection.name.format": names.table,
        "insert.mode": sink.mode.value,
        "primary.key.mode": "record_key" if upsert else "none",
        "delete.enabled": str(sink.delete_on_tombstone).lower(),
        "schema.evolution": "basic",
        "use.time.zone": "UTC",
        "key.converter": JSON_CONVERTER if upsert else STRING_CONVERTER,
        "value.converter": JSON_CONVERTER,
        "value.converter.schemas.enable": schemas,
        "consumer.override.auto.offset.reset": "earliest",
    }
    if upsert:
        config["key.converter.schemas.enable"] = schemas
        config["primary.key.fields"] = ",".join(sink.primary_key)
    if sink.nested is Nested.FLATTEN:
        config |= {
            "transforms": "flatten",
            "transforms.flatten.type": FLATTEN,
            "transforms.flatten.delimiter": FLATTEN_DELIMITER,
        }
    if names.dead_letter_topic is not None:
        config |= {
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": names.dead_letter_topic,
            "errors.deadletterqueue.topic.replication.factor": "1",
            "errors.deadletterqueue.context.headers.enable": "true",
            "errors.log.enable": "true",
        }
    config.update(sink.config)
    return config


def leftovers(
    client: ConnectClient, *, prefix: str, old: Callable[[str | None], bool]
) -> list[tuple[str, str | None]]:
    """(connector, its table) of every run-scoped connector whose run is ``old`` enough."""
    out: list[tuple[str, str | None]] = []
    for name in client.names():
        if name.startswith(prefix + ".") and old(run_id_of(name)):
            config = client.config(name) or {}
            out.append((name, config.get("collection.name.format")))
    return sorted(out)


__all__ = ["CONNECTOR_CLASS", "Endpoints", "Names", "connector_config", "leftovers", "names"]

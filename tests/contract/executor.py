"""The contract server's engine: statements it accepts run on the local stack's SQL Gateway.

Confluent Cloud's tables are topics; the local gateway needs the Kafka connector.
:func:`to_kafka_ddl` turns a Confluent ``CREATE TABLE`` back into Kafka-connector
DDL over the topic of the same name (the connector and formats from
``changelog.mode``); every other statement runs as sent. One gateway session
holds the environment's catalog, as Confluent's catalog outlives statements.

A job (``INSERT INTO``/``EXECUTE STATEMENT SET``) waits ``PENDING`` for a free
TaskManager slot, as a statement waits for its compute pool to scale; its phase,
exceptions and metrics come from the local job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ctt.engines.base import (
    EngineError,
    NoCapacity,
    Phase,
    ResultRow,
    StatementError,
    StatementHandle,
)
from ctt.engines.confluent_dialect import statement_kind
from ctt.engines.confluent_tables import TableDdl, parse_create_table, render_create_table
from ctt.engines.local import LocalEngine
from tests.contract.schema_registry import RegistryApp
from tests.contract.table_schemas import physical_columns, primary_key, record_schema

# Confluent format -> Apache Flink's; Schema Registry Avro is the same bytes in both
_FORMATS = {"json-registry": "json", "avro-registry": "avro-confluent", "proto-registry": "protobuf"}
_JOB_KINDS = frozenset({"INSERT_INTO", "EXECUTE_STATEMENT_SET"})
_CONFLUENT_ONLY = ("changelog.mode", "key.format", "value.format", "value.fields-include")


@dataclass(frozen=True)
class Registry:
    """The contract world's Schema Registry, as Flink's ``avro-confluent`` format reaches it."""

    url: str
    user_info: str
    app: RegistryApp


def to_kafka_ddl(sql: str, bootstrap: str, registry: Registry | None = None) -> str:
    """A Confluent table's DDL as the local Kafka connector's; any other SQL unchanged."""
    parsed = parse_create_table(sql)
    if parsed is None or "connector" in parsed.options:
        return sql
    opts = parsed.options
    mode = opts.get("changelog.mode", "append")
    value = _FORMATS.get(opts.get("value.format", "avro-registry"), "json")
    out: dict[str, str] = {
        "connector": "upsert-kafka" if mode == "upsert" else "kafka",
        "topic": parsed.name,
        "properties.bootstrap.servers": bootstrap,
    }
    if mode == "retract":
        envelope = "debezium-avro-confluent" if value == "avro-confluent" else "debezium-json"
        out |= _format(envelope, "", registry)
    elif mode == "upsert" or parsed.distributed_by:
        key = _FORMATS.get(opts.get("key.format", "avro-registry"), "json")
        out |= _format(key, "key.", registry) | _format(value, "value.", registry)
        if parsed.distributed_by and mode != "upsert":
            out["key.fields"] = ";".join(parsed.distributed_by)
        out["value.fields-include"] = "ALL"
    else:
        out |= _format(value, "", registry)
    if mode != "upsert" and "scan.startup.mode" not in opts:
        out["scan.startup.mode"] = "earliest-offset"
    out |= {k: v for k, v in opts.items() if k not in _CONFLUENT_ONLY}
    return render_create_table(TableDdl(name=parsed.name, columns=parsed.columns, options=out))


def _format(fmt: str, prefix: str, registry: Registry | None) -> dict[str, str]:
    out = {f"{prefix}format": fmt}
    if fmt in ("json", "debezium-json"):
        out[f"{prefix}{fmt}.timestamp-format.standard"] = "SQL"
    elif fmt.endswith("avro-confluent"):
        if registry is None:
            raise ValueError(f"{fmt} needs the contract Schema Registry")
        out[f"{prefix}{fmt}.url"] = registry.url
        out[f"{prefix}{fmt}.basic-auth.credentials-source"] = "USER_INFO"
        out[f"{prefix}{fmt}.basic-auth.user-info"] = registry.user_info
    return out


def register_table_schemas(sql: str, registry: RegistryApp) -> list[str]:
    """What Confluent Cloud's ``CREATE TABLE`` does besides the topic: the key and value
    schemas of an ``avro-registry`` table under ``<topic>-key``/``<topic>-value``."""
    parsed = parse_create_table(sql)
    if parsed is None or "connector" in parsed.options:
        return []
    opts = parsed.options
    if opts.get("changelog.mode") == "retract":
        return []  # Flink's debezium-avro-confluent registers its envelope when it writes
    columns = physical_columns(parsed.columns)
    keys = parsed.distributed_by or primary_key(parsed.columns)
    subjects = []
    if opts.get("value.format", "avro-registry") == "avro-registry":
        registry.register(f"{parsed.name}-value", record_schema(columns))
        subjects.append(f"{parsed.name}-value")
    if keys and opts.get("key.format", "avro-registry") == "avro-registry":
        by_name = dict(columns)
        registry.register(f"{parsed.name}-key", record_schema([(k, by_name[k]) for k in keys]))
        subjects.append(f"{parsed.name}-key")
    return subjects


class Execution:
    """One statement running on the local stack; its phase is read when asked."""

    def __init__(self, executor: LocalExecutor, name: str, sql: str, props: dict[str, str]):
        self.executor = executor
        self.name = name
        self.sql = to_kafka_ddl(sql, executor.bootstrap, executor.registry)
        if executor.registry is not None:
            register_table_schemas(sql, executor.registry.app)
        self.props = {k: v for k, v in props.items() if not k.startswith("sql.current-")}
        self.job = statement_kind(sql) in _JOB_KINDS
        self.rows: list[ResultRow] = []
        self.handle: StatementHandle | None = None
        self.detail: str | None = None
        self.exception: tuple[str, str] | None = None
        self._phase = Phase.PENDING
        self._deleted = threading.Event()
        self._thread = threading.Thread(target=self._start, daemon=True, name=f"exec-{name}")
        self._thread.start()

    def _start(self) -> None:
        engine = self.executor.engine
        try:
            if not self.job:
                self.rows = engine.run(self.sql)
                self._phase = Phase.COMPLETED
                return
            while not self._deleted.is_set() and not engine.capacity().available:
                self._deleted.wait(0.2)  # a compute pool scaling up: PENDING meanwhile
            if self._deleted.is_set():
                return
            self.handle = engine.submit(self.sql, name=self.name, properties=self.props)
            if self._deleted.is_set():
                engine.delete(self.handle)
        except StatementError as exc:
            self._fail(exc.message, "org.apache.flink.table.api.ValidationException")
        except EngineError as exc:
            self._fail(exc.message, "org.apache.flink.runtime.JobException")

    def _fail(self, message: str, exception: str) -> None:
        self.detail = message
        self.exception = (exception, message)
        self._phase = Phase.FAILED

    def phase(self) -> Phase:
        if self.handle is None or self._phase is Phase.FAILED:
            return self._phase
        try:
            st = self.executor.engine.status(self.handle)
        except NoCapacity:
            return Phase.PENDING
        except EngineError as exc:
            self._fail(exc.message, "org.apache.flink.runtime.JobException")
            return self._phase
        if st.cause is not None:
            self.detail = st.cause.summary()
            self.exception = (st.cause.exception, st.cause.message)
        return st.phase

    def metrics(self) -> dict[str, float | None]:
        if self.handle is None:
            return {}
        engine = self.executor.engine
        m = engine.metrics(self.handle)
        mark = engine.watermark(self.handle)
        return {
            "io.confluent.flink/num_records_in": m.records_in,
            "io.confluent.flink/num_records_out": m.records_out,
            "io.confluent.flink/current_input_watermark_milliseconds": mark,
        }

    def delete(self) -> None:
        self._deleted.set()
        if self.handle is not None:
            self.executor.engine.delete(self.handle)


class LocalExecutor:
    """Runs what the contract server accepts on the local stack (one gateway session)."""

    def __init__(
        self, gateway_url: str, rest_url: str, bootstrap: str, registry: Registry | None = None
    ) -> None:
        self.bootstrap = bootstrap
        self.registry = registry
        self.engine = LocalEngine(gateway_url, rest_url)

    def start(self, name: str, sql: str, props: dict[str, Any]) -> Execution:
        return Execution(self, name, sql, {k: str(v) for k, v in props.items()})

    def close(self) -> None:
        self.engine.close()

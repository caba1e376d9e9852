"""What a run on Confluent Cloud needs besides the runner: settings, Kafka access, refusals, cleanup.

The runner is the same for both engines; this module builds its two seams for
Confluent Cloud (an engine factory over the statements API and a Kafka client
with the cluster's API key), says up front which tests only the local engine
can run, and removes whatever statements a run left behind.

:func:`confluent_target` is the one place the settings are built: ``overrides``
(e.g. the outputs of a Terraform apply) win over the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ctt.config.spec import LoadedTest
from ctt.engines.base import EngineError, FlinkEngine, StatementError
from ctt.engines.confluent import DOCS, ConfluentEngine, ConfluentSettings
from ctt.engines.confluent_dialect import ConfluentDialectError, fold_client_side, to_confluent
from ctt.engines.factory import EngineFactory
from ctt.errors import ConfigError
from ctt.expect import snapshot
from ctt.flinktest.sql_setup import sql_source

__all__ = ["ConfluentTarget", "KafkaSettings", "RegistrySettings", "confluent_target", "local_only"]

Say = Callable[[str], None]


class KafkaSettings(BaseSettings):
    """The Kafka cluster behind the Confluent environment: ``CONFLUENT_KAFKA_*`` variables.

    Without an API key the client talks plaintext (the contract server's local Kafka);
    with one it uses SASL_SSL/PLAIN, as Confluent Cloud requires.
    """

    model_config = SettingsConfigDict(env_prefix="CONFLUENT_KAFKA_", extra="ignore")

    bootstrap: str
    api_key: str | None = None
    api_secret: SecretStr | None = None

    def client_config(self) -> dict[str, str]:
        if not self.api_key:
            return {}
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": "PLAIN",
            "sasl.username": self.api_key,
            "sasl.password": self.api_secret.get_secret_value() if self.api_secret else "",
        }


class RegistrySettings(BaseSettings):
    """The environment's Schema Registry: ``CONFLUENT_SCHEMA_REGISTRY_*`` variables.

    Confluent Cloud's tables read and write records framed with a schema id, so a
    run cannot do without it (:mod:`ctt.kafka.registry`).
    """

    model_config = SettingsConfigDict(env_prefix="CONFLUENT_SCHEMA_REGISTRY_", extra="ignore")

    url: str
    api_key: str | None = None
    api_secret: SecretStr | None = None


def _settings(model: type[BaseSettings], prefix: str, overrides: Mapping[str, Any]) -> Any:
    """``model`` from the environment and ``overrides``; one line naming what is missing."""
    try:
        return model(**overrides)
    except ValidationError as exc:
        missing = [
            prefix + str(err["loc"][0]).upper() for err in exc.errors() if err["type"] == "missing"
        ]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise ConfigError(f"{', '.join(missing)} {verb} not set", hint=DOCS) from None
        first = exc.errors()[0]
        raise ConfigError(f"{prefix}{str(first['loc'][0]).upper()}: {first['msg']}") from None


class ConfluentTarget:
    """The runner's engine factory and Kafka client for one run on Confluent Cloud."""

    def __init__(
        self,
        settings: ConfluentSettings,
        kafka: KafkaSettings,
        registry: RegistrySettings,
        *,
        run_id: str,
        say: Say,
    ) -> None:
        # the registry client pulls in authlib and cryptography: only a Confluent run pays
        from ctt.kafka.registry import RegistryCodec, RegistryKafka, registry_client

        self.settings = settings
        self.kafka_settings = kafka
        self.registry_settings = registry
        self.run_id = run_id
        self.say = say
        self.prefix = f"ctt-{run_id}"
        secret = registry.api_secret.get_secret_value() if registry.api_secret else None
        codec = RegistryCodec(registry_client(registry.url, registry.api_key, secret))
        self.kafka = RegistryKafka(kafka.bootstrap, codec, config=kafka.client_config())

    @property
    def engines(self) -> EngineFactory:
        def open_engine() -> FlinkEngine:
            return ConfluentEngine(self.settings, name_prefix=self.prefix, say=self.say)

        return open_engine

    def describe(self) -> str:
        return (
            f"Confluent Cloud {self.settings.flink_endpoint()} (environment "
            f"{self.settings.env_id}, compute pool {self.settings.compute_pool_id}), "
            f"Kafka {self.kafka_settings.bootstrap}, Schema Registry {self.registry_settings.url}"
        )

    def refusal(self, lt: LoadedTest) -> str | None:
        """Why only the local engine can run this test, or None."""
        reason = local_only(lt)
        if reason is None and lt.test.late_rows is not None and not self.settings.cloud_api_key:
            reason = (
                "late_rows waits for the watermark, which Confluent Cloud reports through the "
                "Metrics API: set CONFLUENT_CLOUD_API_KEY/SECRET"
            )
        return reason

    def cleanup(self) -> list[str]:
        """Delete every statement of the run that is still there (idempotent)."""
        with ConfluentEngine(self.settings, say=self.say) as engine:
            try:
                return engine.delete_prefixed(self.prefix)
            except (EngineError, StatementError) as exc:
                self.say(f"cleanup: could not list/delete statements {self.prefix}-*: {exc}")
                return []


def confluent_target(
    *, run_id: str, say: Say, overrides: Mapping[str, Any] | None = None
) -> ConfluentTarget:
    """Settings from ``CONFLUENT_*`` (and ``overrides``, e.g. Terraform outputs) for a run."""
    extra = dict(overrides or {})
    kafka_keys = _take_prefixed(extra, "kafka_")
    registry_keys = _take_prefixed(extra, "schema_registry_")
    settings = _settings(ConfluentSettings, "CONFLUENT_", extra)
    settings.flink_endpoint()
    kafka = _settings(KafkaSettings, "CONFLUENT_KAFKA_", kafka_keys)
    registry = _settings(RegistrySettings, "CONFLUENT_SCHEMA_REGISTRY_", registry_keys)
    return ConfluentTarget(settings, kafka, registry, run_id=run_id, say=say)


def _take_prefixed(overrides: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Remove the ``prefix``-ed overrides and return them without it (``kafka_api_key`` -> ``api_key``)."""
    return {
        k.removeprefix(prefix): overrides.pop(k) for k in list(overrides) if k.startswith(prefix)
    }


def local_only(lt: LoadedTest) -> str | None:
    """The first thing in the test Confluent Cloud's Flink SQL does not have, as one line."""
    for name, table in lt.test.tables.items():
        for column, typ in table.schema_.items():
            if "PROCTIME(" in typ.upper().replace(" ", ""):
                return f"table {name}: column {column} is PROCTIME(), which Confluent Cloud lacks"
    try:
        src = sql_source(lt)
        for stmt in fold_client_side(src.text).statements:
            to_confluent(stmt)
    except ConfluentDialectError as exc:
        where = f" (SQL line {exc.sql_line})" if exc.sql_line else ""
        return f"{exc.message}{where}"
    except ConfigError:
        return None  # the runner reports a broken template with its file and line
    return _not_wired(lt) or _needs_late_count(lt)


def _not_wired(lt: LoadedTest) -> str | None:
    """Sections the Confluent engine does not run yet, each with where its story is told."""
    test = lt.test
    if test.table_api is not None:
        return "table_api: programs run on the local engine only (docs/table-api.md)"
    if test.error_handling is not None:
        return (
            "error_handling: the generated dead-letter routing reads a raw-format source, which "
            "Confluent tables lack; Confluent routes bad records with 'error-handling.mode' "
            "(docs/error-handling.md)"
        )
    if test.sink is not None:
        return (
            "sink: the Confluent engine does not create connectors yet; the fully managed "
            "PostgreSQL Sink connector it maps to is in docs/confluent-cloud.md"
        )
    if test.recovery is not None:
        return "recovery: Confluent Cloud lets no one kill its TaskManagers or savepoint by hand"
    if test.state is not None or any(
        name.startswith("checkpoint_") for item in test.validation for name in item
    ):
        return "state and checkpoint checks: Confluent Cloud manages checkpoints and reports none"
    return None


def _needs_late_count(lt: LoadedTest) -> str | None:
    """Checks that read Flink's numLateRecordsDropped, which Confluent's metrics do not have."""
    for item in lt.test.validation:
        for name, raw in item.items():
            if name == "late_data_handling" or (
                name == "row_count_relation" and "late_dropped" in str(raw)
            ):
                return f"{name} reads Flink's late-records-dropped count, which {_NO_COUNT}"
    snap = snapshot.load(snapshot.path_for(lt.file, lt.test.name))
    if snap is not None and snap.late_dropped is not None:
        return f"its snapshot records Flink's late-records-dropped count, which {_NO_COUNT}"
    return None


_NO_COUNT = "Confluent Cloud's statement metrics do not report"

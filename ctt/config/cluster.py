"""A Flink cluster and Kafka that ctt did not start: a profile YAML and ``CTT_*`` variables.

``ctt run --profile cluster.yaml`` (or ``CTT_PROFILE``) reads the profile; every setting
can also come from the environment, which wins over the file, so a CI job or an
environment pool (environments.yaml) can point ctt at a cluster with variables alone::

    flink:
      gateway_url: https://flink-gateway.example.com     # CTT_GATEWAY_URL
      rest_url: https://flink.example.com                 # CTT_FLINK_REST_URL
      gateway_auth: bearer                                # CTT_GATEWAY_TOKEN
    kafka:
      bootstrap_servers: broker-1.example.com:9093        # CTT_KAFKA_BOOTSTRAP
      security_protocol: SASL_SSL                         # CTT_KAFKA_SECURITY_PROTOCOL
      sasl_mechanism: SCRAM-SHA-512                       # CTT_KAFKA_SASL_MECHANISM
      sasl_username: ctt                                  # CTT_KAFKA_SASL_USERNAME
      ssl_ca_location: /etc/ssl/certs/kafka-ca.pem        # CTT_KAFKA_SSL_CA_LOCATION
    max_parallel: 4                                       # CTT_MAX_PARALLEL

Secrets (tokens, passwords) come from the environment only: a profile that holds one is
refused at its line. The reference is docs/user-guide.md, "Running against an existing
cluster".
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ctt.config.yaml_source import SourceMap, load_yaml, parse_model
from ctt.errors import ConfigError

__all__ = [
    "ENV",
    "Auth",
    "ClusterProfile",
    "FlinkCluster",
    "KafkaCluster",
    "load_cluster",
    "remote_requested",
]

DOCS = "see docs/user-guide.md, 'Running against an existing cluster'"
# Flink's SQL Kafka connector shades the Kafka client: its login modules live under this package.
SHADED = "org.apache.flink.kafka.shaded."
_SECRET_WORDS = ("password", "secret", "jaas.config", "api_key", "api.key")

# Variable -> (section, field). The variables win over the profile file.
ENV: dict[str, tuple[str, str]] = {
    "CTT_GATEWAY_URL": ("flink", "gateway_url"),
    "CTT_FLINK_REST_URL": ("flink", "rest_url"),
    "CTT_GATEWAY_AUTH": ("flink", "gateway_auth"),
    "CTT_FLINK_REST_AUTH": ("flink", "rest_auth"),
    "CTT_FLINK_ELASTIC_SLOTS": ("flink", "elastic_slots"),
    "CTT_KAFKA_BOOTSTRAP": ("kafka", "bootstrap_servers"),
    "CTT_KAFKA_FLINK_BOOTSTRAP": ("kafka", "flink_bootstrap_servers"),
    "CTT_KAFKA_SECURITY_PROTOCOL": ("kafka", "security_protocol"),
    "CTT_KAFKA_SASL_MECHANISM": ("kafka", "sasl_mechanism"),
    "CTT_KAFKA_SASL_USERNAME": ("kafka", "sasl_username"),
    "CTT_KAFKA_SSL_CA_LOCATION": ("kafka", "ssl_ca_location"),
    "CTT_MAX_PARALLEL": ("", "max_parallel"),
}
# Secrets: read from these variables only, never from a file, never shown.
GATEWAY_VARS = ("CTT_GATEWAY_TOKEN", "CTT_GATEWAY_USERNAME", "CTT_GATEWAY_PASSWORD")
REST_VARS = ("CTT_FLINK_REST_TOKEN", "CTT_FLINK_REST_USERNAME", "CTT_FLINK_REST_PASSWORD")
KAFKA_PASSWORD_VAR = "CTT_KAFKA_SASL_PASSWORD"
FLINK_JAAS_VAR = "CTT_KAFKA_FLINK_JAAS_CONFIG"  # Flink's own login on flink_bootstrap_servers


class Auth(StrEnum):
    """How ctt authenticates to the SQL Gateway or the Flink REST API (an HTTP header)."""

    NONE = "none"
    BEARER = "bearer"  # Authorization: Bearer $CTT_..._TOKEN
    BASIC = "basic"  # Authorization: Basic base64($CTT_..._USERNAME:$CTT_..._PASSWORD)
    GATEWAY = "gateway"  # the REST API takes the gateway's credentials (one ingress for both)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlinkCluster(_Strict):
    gateway_url: str = Field(description="the SQL Gateway's REST endpoint")
    rest_url: str = Field(description="the JobManager's REST endpoint (jobs, slots, metrics)")
    gateway_auth: Auth | None = Field(None, description="default: from the variables that are set")
    rest_auth: Auth | None = None
    session_properties: dict[str, str] = Field(
        default_factory=dict, description="sent with every gateway session (SET defaults)"
    )
    elastic_slots: bool = Field(
        False,
        description="TaskManagers start on demand (native Kubernetes): submit without waiting "
        "for a free slot; -p defaults to max_parallel",
    )


class KafkaCluster(_Strict):
    bootstrap_servers: str = Field(description="as ctt (this machine) reaches the brokers")
    flink_bootstrap_servers: str | None = Field(
        None,
        description="as the Flink cluster reaches them (e.g. a Kubernetes service); with it, "
        "Flink's tables get only `flink_properties`, since that listener has its own security",
    )
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    ssl_ca_location: str | None = None
    config: dict[str, str] = Field(
        default_factory=dict, description="further librdkafka settings for ctt's own clients"
    )
    flink_properties: dict[str, str] = Field(
        default_factory=dict, description="Kafka client settings for Flink's tables (properties.*)"
    )


class ClusterProfile(_Strict):
    """Everything ctt needs to run tests on a cluster it did not start."""

    flink: FlinkCluster
    kafka: KafkaCluster
    max_parallel: int | None = Field(
        None, ge=1, description="tests at once at most, however many slots are free"
    )
    source: str = Field("environment", exclude=True, description="where the settings came from")

    def gateway_headers(self, env: Mapping[str, str] | None = None) -> dict[str, SecretStr]:
        return _headers(self.flink.gateway_auth, GATEWAY_VARS, env, "gateway")

    def rest_headers(self, env: Mapping[str, str] | None = None) -> dict[str, SecretStr]:
        if self.flink.rest_auth is Auth.GATEWAY:
            return self.gateway_headers(env)
        return _headers(self.flink.rest_auth, REST_VARS, env, "Flink REST API")

    def kafka_client_config(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """librdkafka settings for ctt's admin, producer and reader (the password included)."""
        k = self.kafka
        conf = dict(k.config)
        for key, value in (
            ("security.protocol", k.security_protocol),
            ("sasl.mechanism", k.sasl_mechanism),
            ("sasl.username", k.sasl_username),
            ("ssl.ca.location", k.ssl_ca_location),
        ):
            if value:
                conf[key] = value
        password = _env(env).get(KAFKA_PASSWORD_VAR)
        if k.sasl_username:
            if not password:
                raise ConfigError(
                    f"kafka.sasl_username is set but {KAFKA_PASSWORD_VAR} is not", hint=DOCS
                )
            conf["sasl.password"] = password
        return conf

    @property
    def flink_bootstrap(self) -> str:
        return self.kafka.flink_bootstrap_servers or self.kafka.bootstrap_servers

    def flink_kafka_properties(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Kafka client settings (Java names, without ``properties.``) for Flink's tables.

        On the listener ctt uses, Flink's tables need the same security, in the Java
        client's terms: the SASL login as ``sasl.jaas.config`` (the connector's shaded
        login modules) and the CA file as a PEM trust store (the file must exist at that
        path on the TaskManagers). ``flink_properties`` win.
        """
        k = self.kafka
        if k.flink_bootstrap_servers:
            jaas = _env(env).get(FLINK_JAAS_VAR)
            return {**k.flink_properties, **({"sasl.jaas.config": jaas} if jaas else {})}
        props: dict[str, str] = {}
        if k.security_protocol:
            props["security.protocol"] = k.security_protocol
        if k.sasl_mechanism:
            props["sasl.mechanism"] = k.sasl_mechanism
        if k.sasl_username:
            module = _login_module(k.sasl_mechanism or "PLAIN")
            password = self.kafka_client_config(env)["sasl.password"]
            props["sasl.jaas.config"] = (
                f'{module} required username="{_jaas(k.sasl_username)}" '
                f'password="{_jaas(password)}";'
            )
        if k.ssl_ca_location:
            props["ssl.truststore.type"] = "PEM"
            props["ssl.truststore.location"] = k.ssl_ca_location
        return {**props, **k.flink_properties}

    def describe(self) -> str:
        """One line for the terminal: where the run goes, never a secret."""
        auth = self.flink.gateway_auth or Auth.NONE
        kafka = self.kafka.bootstrap_servers
        if self.kafka.security_protocol:
            kafka += f" ({self.kafka.security_protocol})"
        return (
            f"Flink SQL Gateway {self.flink.gateway_url} (auth {auth.value}), "
            f"REST {self.flink.rest_url}, Kafka {kafka}"
        )


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _login_module(mechanism: str) -> str:
    mech = mechanism.upper()
    if mech == "PLAIN":
        return SHADED + "org.apache.kafka.common.security.plain.PlainLoginModule"
    if mech.startswith("SCRAM-"):
        return SHADED + "org.apache.kafka.common.security.scram.ScramLoginModule"
    raise ConfigError(
        f"kafka.sasl_mechanism {mechanism}: ctt builds Flink's login for PLAIN and SCRAM-SHA-*",
        hint="give Flink's settings in kafka.flink_properties (sasl.jaas.config from your "
        "deployment) and kafka.flink_bootstrap_servers",
    )


def _jaas(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _headers(
    auth: Auth | None, names: tuple[str, str, str], env: Mapping[str, str] | None, what: str
) -> dict[str, SecretStr]:
    """The ``Authorization`` header for ``auth``; with no ``auth``, from the variables set."""
    token_var, user_var, password_var = names
    values = _env(env)
    token, user, password = (values.get(v) for v in names)
    if auth is None:
        auth = Auth.BEARER if token else Auth.BASIC if user and password else Auth.NONE
    if auth is Auth.NONE:
        return {}
    if auth is Auth.BEARER:
        if not token:
            raise ConfigError(f"{what} auth is bearer but {token_var} is not set", hint=DOCS)
        return {"Authorization": SecretStr(f"Bearer {token}")}
    if auth is Auth.BASIC:
        if not user or not password:
            raise ConfigError(
                f"{what} auth is basic but {user_var} and {password_var} are not both set",
                hint=DOCS,
            )
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": SecretStr(f"Basic {pair}")}
    raise ConfigError(f"{what} auth {auth.value}: only the REST API can take the gateway's")


def remote_requested(profile: Path | None, env: Mapping[str, str] | None = None) -> bool:
    """Whether this run goes to a cluster ctt did not start: a profile, or CTT_GATEWAY_URL."""
    values = _env(env)
    return profile is not None or bool(values.get("CTT_PROFILE") or values.get("CTT_GATEWAY_URL"))


def load_cluster(
    profile: Path | None = None, env: Mapping[str, str] | None = None
) -> ClusterProfile:
    """The cluster from ``profile`` (or ``CTT_PROFILE``) with the ``CTT_*`` variables on top."""
    values = _env(env)
    path = profile or (Path(values["CTT_PROFILE"]) if values.get("CTT_PROFILE") else None)
    data: dict[str, Any] = {}
    smap = SourceMap(file="environment")
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"profile {path} does not exist", hint=DOCS)
        loaded, smap = load_yaml(path)
        if loaded is not None and not isinstance(loaded, dict):
            raise smap.error("a profile is a mapping with flink: and kafka:", ())
        data = loaded or {}
        _refuse_secrets(data, smap)
    sources = [str(path)] if path else []
    for var, (section, key) in ENV.items():
        value = values.get(var)
        if not value:
            continue
        target = data if not section else data.setdefault(section, {})
        if not isinstance(target, dict):
            raise smap.error(f"{section}: must be a mapping", (section,))
        target[key] = value
        if "environment" not in sources:
            sources.append("environment")
    if path is None and not data:
        raise ConfigError(
            "no cluster given: set CTT_GATEWAY_URL (and the rest) or --profile", hint=DOCS
        )
    try:
        cluster = parse_model(ClusterProfile, data, smap)
    except ConfigError as exc:
        if path is None:
            raise _env_error(exc) from None
        raise
    except ValidationError as exc:  # pragma: no cover - parse_model translates these
        raise ConfigError(str(exc)) from None
    cluster.source = " + ".join(sources)
    return cluster


def _env_error(exc: ConfigError) -> ConfigError:
    """A missing setting named by its variable when there is no file to point at."""
    message = str(exc)
    for var, (section, key) in ENV.items():
        if key in message and (not section or section in message):
            return ConfigError(f"{message} (set {var})", hint=DOCS)
    return ConfigError(message, hint=DOCS)


def _refuse_secrets(data: dict[str, Any], smap: SourceMap, loc: tuple[str, ...] = ()) -> None:
    for key, value in data.items():
        here = (*loc, str(key))
        if isinstance(value, dict):
            _refuse_secrets(value, smap, here)
        elif any(word in str(key).lower() for word in _SECRET_WORDS):
            raise smap.error(
                f"{'.'.join(here)}: a secret does not go into a profile",
                here,
                hint="set it in the environment: CTT_GATEWAY_TOKEN, CTT_KAFKA_SASL_PASSWORD, ... "
                f"({DOCS})",
            )

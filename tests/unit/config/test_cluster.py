"""ctt.config.cluster: a cluster ctt did not start, from a profile file and CTT_* variables."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctt.config.cluster import SHADED, Auth, load_cluster, remote_requested
from ctt.errors import ConfigError

BASE = {
    "CTT_GATEWAY_URL": "http://gw:8083",
    "CTT_FLINK_REST_URL": "http://jm:8081",
    "CTT_KAFKA_BOOTSTRAP": "broker:9092",
}


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    return path


def test_environment_alone_is_a_cluster() -> None:
    c = load_cluster(env=BASE)
    assert (c.flink.gateway_url, c.flink.rest_url) == ("http://gw:8083", "http://jm:8081")
    assert c.kafka.bootstrap_servers == "broker:9092"
    assert c.gateway_headers(BASE) == {} and c.kafka_client_config(BASE) == {}
    assert c.flink_kafka_properties(BASE) == {}
    assert c.source == "environment"


def test_missing_setting_names_its_variable() -> None:
    env = {k: v for k, v in BASE.items() if k != "CTT_FLINK_REST_URL"}
    with pytest.raises(ConfigError, match="CTT_FLINK_REST_URL"):
        load_cluster(env=env)


def test_variables_override_the_profile(tmp_path: Path) -> None:
    path = _profile(
        tmp_path,
        "flink:\n  gateway_url: http://file-gw\n  rest_url: http://file-jm\n"
        "kafka:\n  bootstrap_servers: file:9092\nmax_parallel: 3\n",
    )
    c = load_cluster(path, env={"CTT_GATEWAY_URL": "http://env-gw"})
    assert c.flink.gateway_url == "http://env-gw"
    assert c.flink.rest_url == "http://file-jm"
    assert c.max_parallel == 3
    assert c.source == f"{path} + environment"


def test_a_secret_in_the_profile_is_refused_at_its_line(tmp_path: Path) -> None:
    path = _profile(
        tmp_path,
        "flink:\n  gateway_url: http://gw\n  rest_url: http://jm\n"
        "kafka:\n  bootstrap_servers: b:9092\n  config:\n    sasl.password: hunter2\n",
    )
    with pytest.raises(ConfigError) as err:
        load_cluster(path, env={})
    assert err.value.line == 7
    assert "CTT_KAFKA_SASL_PASSWORD" in (err.value.hint or "")
    assert "hunter2" not in str(err.value)


def test_unknown_key_points_at_the_file(tmp_path: Path) -> None:
    path = _profile(
        tmp_path,
        "flink:\n  gateway_url: http://gw\n  rest_url: http://jm\n  gatway_auth: bearer\n"
        "kafka:\n  bootstrap_servers: b:9092\n",
    )
    with pytest.raises(ConfigError) as err:
        load_cluster(path, env={})
    assert err.value.line == 4


def test_bearer_and_basic_headers() -> None:
    env = {**BASE, "CTT_GATEWAY_TOKEN": "tok"}
    c = load_cluster(env=env)
    assert c.gateway_headers(env)["Authorization"].get_secret_value() == "Bearer tok"
    assert "tok" not in repr(c.gateway_headers(env))  # SecretStr: never in a repr or a log
    assert c.rest_headers(env) == {}  # the REST API has its own credentials
    env = {
        **BASE,
        "CTT_FLINK_REST_AUTH": "basic",
        "CTT_FLINK_REST_USERNAME": "u",
        "CTT_FLINK_REST_PASSWORD": "p:w",
    }
    c = load_cluster(env=env)
    value = c.rest_headers(env)["Authorization"].get_secret_value()
    assert value == "Basic " + base64.b64encode(b"u:p:w").decode()


def test_rest_can_take_the_gateways_credentials() -> None:
    env = {**BASE, "CTT_GATEWAY_TOKEN": "tok", "CTT_FLINK_REST_AUTH": "gateway"}
    c = load_cluster(env=env)
    assert c.flink.rest_auth is Auth.GATEWAY
    assert c.rest_headers(env) == c.gateway_headers(env)


def test_declared_auth_without_its_variable_is_an_error() -> None:
    env = {**BASE, "CTT_GATEWAY_AUTH": "bearer"}
    c = load_cluster(env=env)
    with pytest.raises(ConfigError, match="CTT_GATEWAY_TOKEN"):
        c.gateway_headers(env)


def test_kafka_security_reaches_the_client_and_flink() -> None:
    env = {
        **BASE,
        "CTT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "CTT_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "CTT_KAFKA_SASL_USERNAME": "ctt",
        "CTT_KAFKA_SASL_PASSWORD": 'pa"ss',
        "CTT_KAFKA_SSL_CA_LOCATION": "/etc/ca.pem",
    }
    c = load_cluster(env=env)
    assert c.kafka_client_config(env) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "ctt",
        "sasl.password": 'pa"ss',
        "ssl.ca.location": "/etc/ca.pem",
    }
    flink = c.flink_kafka_properties(env)
    assert flink["security.protocol"] == "SASL_SSL"
    assert flink["sasl.mechanism"] == "SCRAM-SHA-512"
    assert flink["sasl.jaas.config"] == (
        f"{SHADED}org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="ctt" password="pa\\"ss";'
    )
    assert flink["ssl.truststore.type"] == "PEM"
    assert flink["ssl.truststore.location"] == "/etc/ca.pem"
    assert "pa" not in c.describe()


def test_sasl_username_without_password_is_an_error() -> None:
    env = {**BASE, "CTT_KAFKA_SASL_USERNAME": "ctt"}
    with pytest.raises(ConfigError, match="CTT_KAFKA_SASL_PASSWORD"):
        load_cluster(env=env).kafka_client_config(env)


def test_a_separate_flink_listener_gets_only_its_own_settings(tmp_path: Path) -> None:
    path = _profile(
        tmp_path,
        "flink:\n  gateway_url: http://gw\n  rest_url: http://jm\n"
        "kafka:\n  bootstrap_servers: localhost:19092\n  security_protocol: SASL_SSL\n"
        "  flink_bootstrap_servers: kafka.kafka.svc:9092\n"
        "  flink_properties: {security.protocol: SSL}\n",
    )
    env = {"CTT_KAFKA_FLINK_JAAS_CONFIG": "X required;"}
    c = load_cluster(path, env=env)
    assert c.flink_bootstrap == "kafka.kafka.svc:9092"
    assert c.flink_kafka_properties(env) == {
        "security.protocol": "SSL",
        "sasl.jaas.config": "X required;",
    }


def test_remote_requested() -> None:
    assert not remote_requested(None, {})
    assert remote_requested(None, {"CTT_GATEWAY_URL": "http://x"})
    assert remote_requested(None, {"CTT_PROFILE": "p.yaml"})
    assert remote_requested(Path("p.yaml"), {})


def test_no_cluster_at_all() -> None:
    with pytest.raises(ConfigError, match="CTT_GATEWAY_URL"):
        load_cluster(env={})


@given(st.text(max_size=200))
def test_any_profile_text_loads_or_is_a_config_error(text: str) -> None:
    import contextlib
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "p.yaml"
        path.write_text(text)
        with contextlib.suppress(ConfigError):
            load_cluster(path, env={})

"""Schema Registry framing: JSON-form values survive Avro, and the codec talks the registry's API."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import fastavro
import pytest
from confluent_kafka.serialization import MessageField
from hypothesis import given
from hypothesis import strategies as st

from ctt.kafka.record import GeneratedRecord
from ctt.kafka.registry import RegistryCodec, RegistryError, registry_client, to_avro, to_json_form
from tests.contract.schema_registry import API_KEY, API_SECRET, RegistryServer

NS = "org.apache.flink.avro.generated"
SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "record",
    "namespace": NS,
    "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "n", "type": ["null", "long"], "default": None},
        {
            "name": "amount",
            "type": [
                "null",
                {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
            ],
            "default": None,
        },
        {
            "name": "ts",
            "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
            "default": None,
        },
        {
            "name": "us",
            "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}],
            "default": None,
        },
        {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}], "default": None},
        {"name": "tags", "type": ["null", {"type": "array", "items": "string"}], "default": None},
        {"name": "attrs", "type": ["null", {"type": "map", "values": "double"}], "default": None},
        {
            "name": "geo",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "geo",
                    "namespace": NS,
                    "fields": [{"name": "lat", "type": "double"}],
                },
            ],
            "default": None,
        },
    ],
}
PARSED = fastavro.parse_schema(SCHEMA)

_times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1))
_doubles = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _millis(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


_rows = st.fixed_dictionaries(
    {
        "user_id": st.text(max_size=20),
        "n": st.none() | st.integers(-(2**63), 2**63 - 1),
        "amount": st.none() | st.integers(-(10**9), 10**9).map(lambda c: c / 100),
        "ts": st.none() | _times.map(_millis),
        "us": st.none() | _times.map(lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")),
        "day": st.none() | st.dates().map(lambda d: d.isoformat()),
        "tags": st.none() | st.lists(st.text(max_size=5), max_size=4),
        "attrs": st.none() | st.dictionaries(st.text(max_size=5), _doubles, max_size=3),
        "geo": st.none() | st.fixed_dictionaries({"lat": _doubles}),
    }
)


def _record(key: bytes | None, value: bytes, fields: dict[str, Any]) -> GeneratedRecord:
    return GeneratedRecord(0, key, value, fields, 0, 0, 0, False)


def _through_avro(doc: dict[str, Any]) -> Any:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, PARSED, to_avro(SCHEMA, doc))
    buf.seek(0)
    return to_json_form(fastavro.schemaless_reader(buf, PARSED, PARSED))


@given(_rows)
def test_a_json_form_row_comes_back_from_avro_as_it_went_in(doc: dict[str, Any]) -> None:
    back = _through_avro(doc)
    expected = dict(doc)
    if doc["us"] is not None:  # the reader's JSON form is Flink's: milliseconds
        expected["us"] = doc["us"][:-3]
    assert back == expected


def test_a_millisecond_survives_the_float_rounding_of_its_epoch_value() -> None:
    # 1075593600.001 s * 1000 is 1075593600000.9999 as a float: found by the round trip above
    assert (
        _through_avro({"user_id": "u", "ts": "2004-02-01 00:00:00.001"})["ts"]
        == "2004-02-01 00:00:00.001"
    )


def test_an_offset_timestamp_is_written_as_its_utc_instant() -> None:
    doc = {"user_id": "u", "ts": "2026-01-01T10:00:00.250+02:00"}
    assert _through_avro(doc)["ts"] == "2026-01-01 08:00:00.250"


def test_a_decimal_is_rounded_to_the_schema_scale() -> None:
    assert _through_avro({"user_id": "u", "amount": 1.005})["amount"] in (1.0, 1.01)
    assert (
        to_json_form(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=5))
        == "2026-01-01 00:00:00.005"
    )


# ---------------------------------------------------------------- the codec against the contract registry


@pytest.fixture
def server() -> Iterator[RegistryServer]:
    srv = RegistryServer()
    yield srv
    srv.close()
    assert srv.app.unknown == []  # ctt called nothing the contract registry does not know


@pytest.fixture
def codec(server: RegistryServer) -> RegistryCodec:
    return RegistryCodec(registry_client(server.url, API_KEY, API_SECRET))


def test_a_value_is_framed_with_the_id_its_table_registered(
    server: RegistryServer, codec: RegistryCodec
) -> None:
    sid = server.app.register("orders-value", json.dumps(SCHEMA))
    framed = codec.encode(
        "orders", MessageField.VALUE, {"user_id": "u1", "ts": "2026-01-01 00:00:00.000"}
    )
    assert framed is not None
    assert framed[0] == 0 and int.from_bytes(framed[1:5], "big") == sid
    back = json.loads(codec.decode("orders", MessageField.VALUE, framed) or b"")
    assert back["user_id"] == "u1" and back["ts"] == "2026-01-01 00:00:00.000"
    assert (
        server.app.live("orders-value") and len(server.app.live("orders-value")) == 1
    )  # nothing registered


def test_a_topic_without_a_subject_passes_records_through(codec: RegistryCodec) -> None:
    rec = _record(b"k", b'{"a": 1}', {"a": 1})
    assert codec.record("raw_topic", rec) == rec
    assert codec.decode("raw_topic", MessageField.VALUE, b'{"a": 1}') == b'{"a": 1}'


def test_a_json_key_is_framed_with_the_key_subject(
    server: RegistryServer, codec: RegistryCodec
) -> None:
    key_schema = {
        "type": "record",
        "name": "key",
        "namespace": NS,
        "fields": [{"name": "user_id", "type": "string"}],
    }
    kid = server.app.register("orders-key", json.dumps(key_schema))
    server.app.register("orders-value", json.dumps(SCHEMA))
    rec = _record(b'{"user_id": "u1"}', b"{}", {"user_id": "u1"})
    out = codec.record("orders", rec)
    assert out.key is not None and int.from_bytes(out.key[1:5], "big") == kid
    assert out.value != rec.value and out.value is not None and out.value[0] == 0


def test_a_record_that_does_not_fit_its_schema_is_a_clear_error(
    server: RegistryServer, codec: RegistryCodec
) -> None:
    server.app.register("orders-value", json.dumps(SCHEMA))
    with pytest.raises(RegistryError, match="does not fit the schema"):
        codec.encode("orders", MessageField.VALUE, {"user_id": 5})


def test_a_subject_that_holds_another_format_is_refused(
    server: RegistryServer, codec: RegistryCodec
) -> None:
    server.app.register("pb-value", 'syntax = "proto3"; message M { string a = 1; }', "PROTOBUF")
    with pytest.raises(RegistryError, match="PROTOBUF schema"):
        codec.encode("pb", MessageField.VALUE, {"a": "x"})


def test_deleting_a_run_s_topics_removes_their_subjects_for_good(
    server: RegistryServer, codec: RegistryCodec
) -> None:
    server.app.register("orders-value", json.dumps(SCHEMA))
    codec.delete_subjects(["orders", "never_had_one"])
    assert server.app.live("orders-value") == []
    assert server.app.register("orders-value", json.dumps(SCHEMA)) > 0  # the subject is free again


def test_a_wrong_api_key_is_reported_as_a_registry_error(server: RegistryServer) -> None:
    codec = RegistryCodec(registry_client(server.url, "WRONG", "x"))
    with pytest.raises(RegistryError, match="cannot read subject orders-value"):
        codec.encode("orders", MessageField.VALUE, {"user_id": "u"})

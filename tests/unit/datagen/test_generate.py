from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctt.config.datagen import (
    SHARE_KINDS,
    FieldSpec,
    GeneratorConfig,
    Malformed,
    MalformedKind,
    TableShape,
)
from ctt.datagen.avro import AvroEncoder
from ctt.datagen.generate import generate
from ctt.datagen.partition import partition_for
from ctt.errors import ConfigError

SLOW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _ms(text: str) -> int:
    return int(
        datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp() * 1000
    )


@SLOW
@given(seed=st.integers(0, 2**32), count=st.integers(0, 300), late=st.floats(0, 0.3))
def test_same_seed_same_bytes(events: TableShape, seed: int, count: int, late: float) -> None:
    cfg = GeneratorConfig(seed=seed, count=count, late_data_percentage=late, out_of_orderness=3)
    first = [(r.key, r.value, r.partition, r.event_time_ms, r.late) for r in generate(events, cfg)]
    second = [(r.key, r.value, r.partition, r.event_time_ms, r.late) for r in generate(events, cfg)]
    assert first == second


def test_other_seed_other_bytes(events: TableShape) -> None:
    a = [r.value for r in generate(events, GeneratorConfig(seed=1, count=50))]
    b = [r.value for r in generate(events, GeneratorConfig(seed=2, count=50))]
    assert a != b


def test_seed_example_shape(events: TableShape) -> None:
    cfg = GeneratorConfig.from_spec(
        [{"time_range": "2 hours"}, {"events_per_user": 50}, {"late_data_percentage": "5%"}]
    )
    records = list(generate(events, cfg))
    real = [r for r in records if not r.closing]
    assert len(real) == 500
    assert set(Counter(r.fields["user_id"] for r in real if r.fields).values()) == {50}
    assert sum(r.late for r in real) == 25
    times = [r.event_time_ms for r in real]
    start = int(cfg.start.timestamp() * 1000)
    assert min(times) >= start
    assert max(times) < start + 2 * 3600 * 1000
    closing = [r for r in records if r.closing]
    assert sorted(r.partition for r in closing) == [0, 1, 2]
    assert all(c.event_time_ms > max(times) + 5000 for c in closing)


@SLOW
@given(
    seed=st.integers(0, 2**32),
    late=st.floats(0, 0.5),
    ooo=st.integers(0, 20),
    partitions=st.integers(1, 4),
    malformed=st.floats(0, 0.2),
)
def test_late_flag_is_exactly_behind_the_watermark(
    events: TableShape, seed: int, late: float, ooo: int, partitions: int, malformed: float
) -> None:
    """Recompute Flink's per-partition watermark from the emitted stream; flags must agree."""
    table = events.model_copy(update={"partitions": partitions})
    cfg = GeneratorConfig(
        seed=seed,
        count=400,
        time_range="10m",
        late_data_percentage=late,
        out_of_orderness=ooo,
        malformed=Malformed(share=malformed),
    )
    delay = 5000
    top: dict[int, int] = {}
    for rec in generate(table, cfg):
        wm = top[rec.partition] - delay - 1 if rec.partition in top else None
        assert rec.watermark_ms == wm
        if rec.malformed is not None:
            assert not rec.late
            continue
        assert rec.late == (wm is not None and rec.event_time_ms <= wm)
        top[rec.partition] = max(top.get(rec.partition, rec.event_time_ms), rec.event_time_ms)


def test_late_events_are_behind_every_partitions_watermark(events: TableShape) -> None:
    cfg = GeneratorConfig(count=2000, keys=50, time_range="1h", late_data_percentage="10%")
    top: dict[int, int] = {}
    late = 0
    for rec in generate(events, cfg):
        if rec.late:
            late += 1
            assert rec.event_time_ms <= min(top.values()) - 5001
        elif not rec.closing:
            top[rec.partition] = max(top.get(rec.partition, 0), rec.event_time_ms)
    assert late == 200


def test_kafka_timestamp_is_the_event_time_column(events: TableShape) -> None:
    for rec in generate(events, GeneratorConfig(count=100, out_of_orderness=10)):
        assert rec.fields is not None
        assert _ms(rec.fields["event_timestamp"]) == rec.event_time_ms


def test_values_are_flink_json(events: TableShape) -> None:
    rec = next(iter(generate(events, GeneratorConfig(count=1))))
    doc = json.loads(rec.value)
    assert list(doc) == [c.name for c in events.columns]
    assert isinstance(doc["amount"], float) and round(doc["amount"], 2) == doc["amount"]
    assert isinstance(doc["tags"], list)
    assert set(doc["address"]) == {"city", "zip"}
    assert json.loads(rec.key or b"") == {"user_id": doc["user_id"]}


def test_partition_by_key_matches_kafka(events: TableShape) -> None:
    for rec in generate(events, GeneratorConfig(count=100, closing=False)):
        assert rec.key is not None
        assert rec.partition == partition_for(rec.key, 3)


def test_round_robin(events: TableShape) -> None:
    recs = list(
        generate(events, GeneratorConfig(count=9, partitioning="round_robin", closing=False))
    )
    assert [r.partition for r in recs] == [0, 1, 2] * 3


def test_malformed_kinds_are_labelled(events: TableShape) -> None:
    cfg = GeneratorConfig(count=400, malformed=Malformed(share="20%", oversize_bytes=5000))
    recs = [r for r in generate(events, cfg) if r.malformed is not None]
    assert len(recs) == 80
    assert {r.malformed for r in recs} == set(SHARE_KINDS)
    for rec in recs:
        if rec.malformed is MalformedKind.NOT_JSON:
            with pytest.raises(ValueError):
                json.loads(rec.value)
        elif rec.malformed is MalformedKind.MISSING_FIELD:
            assert "age" not in json.loads(rec.value)  # the NOT NULL column
        elif rec.malformed is MalformedKind.WRONG_TYPE:
            assert "not-a-number" in json.loads(rec.value).values()
        else:
            assert len(rec.value) > 5000


def test_avro_round_trip(events: TableShape) -> None:
    cfg = GeneratorConfig(count=20, format="avro")
    enc = AvroEncoder(events)
    for rec in generate(events, cfg):
        back = enc.decode(rec.value)
        assert rec.fields is not None
        assert back["user_id"] == rec.fields["user_id"]
        assert int(back["event_timestamp"].timestamp() * 1000) == rec.event_time_ms
        assert float(back["amount"]) == rec.fields["amount"]


def test_unknown_field_suggests(events: TableShape) -> None:
    with pytest.raises(ConfigError, match="did you mean 'user_name'"):
        generate(events, GeneratorConfig(fields={"user_nam": FieldSpec()}))


def test_late_data_needs_event_time() -> None:
    table = TableShape(name="t", columns=[("id", "INT")])
    with pytest.raises(ConfigError, match="event-time"):
        generate(table, GeneratorConfig(late_data_percentage="5%"))

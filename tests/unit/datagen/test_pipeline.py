"""The fast path (generator in a worker process, tuples to the producer) against plain ``generate()``."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctt.commands.generate import DEFAULT_TABLE
from ctt.config.datagen import FieldSpec, GeneratorConfig, Malformed, TableShape
from ctt.datagen.generate import _Generator, generate
from ctt.datagen.ground_truth import GroundTruthHeader, GroundTruthWriter
from ctt.datagen.pipeline import PipelinedRecords
from ctt.errors import ConfigError, InfraError
from ctt.kafka.packed import GT_PREFIX, GT_SUFFIX, INDEX, META
from ctt.kafka.record import GeneratedRecord

CASES: dict[str, dict[str, Any]] = {
    "plain": {"count": 2500, "keys": 1000},
    "late_ooo": {"count": 3000, "keys": 50, "late_data_percentage": "10%", "out_of_orderness": 3},
    "malformed": {"count": 800, "malformed": Malformed(share="20%", oversize_bytes=300)},
    "avro": {"count": 400, "format": "avro", "late_data_percentage": "5%"},
    "avro_malformed": {"count": 300, "format": "avro", "malformed": Malformed(share="10%")},
    "round_robin_raw_headers": {
        "count": 300,
        "partitioning": "round_robin",
        "key_format": "raw",
        "headers": {"source": "ctt"},
    },
    "fields": {
        "count": 1000,
        "events_per_key": 10,
        "keys": 100,
        "fields": {
            "user_name": FieldSpec(nullable="30%"),
            "payload": FieldSpec(
                type="json", fields={"sku": FieldSpec(faker="bothify", faker_args={"text": "##"})}
            ),
            "event_type": FieldSpec(enum={"a": 1, "b": 3}),
            "age": FieldSpec(distribution="hot_keys", hot_keys=3),
        },
    },
    "zipf_keys": {"count": 600, "fields": {"user_id": FieldSpec(distribution="zipf")}},
    "enum_list_sequence": {
        "count": 500,
        "fields": {"event_type": FieldSpec(enum=["x", "y"]), "age": FieldSpec(type="sequence")},
    },
}


def _config(case: str) -> GeneratorConfig:
    return GeneratorConfig.model_validate(CASES[case])


def _gt_plain(path: Path, records: list[GeneratedRecord], header: GroundTruthHeader) -> bytes:
    with GroundTruthWriter(path, header) as gt:
        for rec in records:
            gt.write(rec, rec.index * 7)
    return path.read_bytes()


def _header(cfg: GeneratorConfig) -> GroundTruthHeader:
    return GroundTruthHeader(
        table="user_events",
        seed=cfg.seed,
        partitions=3,
        format=cfg.format.value,
        watermark_delay_ms=5000,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_worker_records_equal_generate(events: TableShape, case: str) -> None:
    cfg = _config(case)
    plain = list(generate(events, cfg))
    with PipelinedRecords(events, cfg, batch=256, fork=True) as fast:
        assert list(fast) == plain
        assert list(fast) == plain  # iterating again starts a new worker: the same records


@pytest.mark.parametrize("case", sorted(CASES))
def test_worker_ground_truth_equals_generate(events: TableShape, case: str, tmp_path: Path) -> None:
    """Lines rendered in the worker + offsets in the producer = the plain writer's file."""
    cfg = _config(case)
    header = _header(cfg)
    want = _gt_plain(tmp_path / "plain.jsonl", list(generate(events, cfg)), header)
    fast = PipelinedRecords(events, cfg, batch=100, fork=True)
    with GroundTruthWriter(tmp_path / "fast.jsonl", header) as gt:
        assert gt.json_values == fast.json_values
        for batch in fast.batches():
            for p in batch:
                meta = p[META]
                gt.write_parts(meta[GT_PREFIX], meta[INDEX] * 7, meta[GT_SUFFIX])
    assert (tmp_path / "fast.jsonl").read_bytes() == want


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32),
    count=st.integers(0, 700),
    late=st.floats(0, 0.3),
    ooo=st.integers(0, 20),
    bad=st.floats(0, 0.2),
    batch=st.integers(1, 300),
    fmt=st.sampled_from(["json", "avro"]),
)
def test_batches_equal_generate(
    events: TableShape,
    seed: int,
    count: int,
    late: float,
    ooo: int,
    bad: float,
    batch: int,
    fmt: str,
) -> None:
    cfg = GeneratorConfig(
        seed=seed,
        count=count,
        late_data_percentage=late,
        out_of_orderness=ooo,
        malformed=Malformed(share=bad),
        format=fmt,
    )
    assert list(PipelinedRecords(events, cfg, batch=batch, fork=False)) == list(
        generate(events, cfg)
    )


def test_default_table_in_a_worker() -> None:
    cfg = GeneratorConfig(count=5000, keys=1000)
    assert list(PipelinedRecords(DEFAULT_TABLE, cfg)) == list(generate(DEFAULT_TABLE, cfg))


def test_settings_are_checked_before_any_worker(events: TableShape) -> None:
    with pytest.raises(ConfigError, match="user_nam"):
        PipelinedRecords(events, GeneratorConfig(fields={"user_nam": FieldSpec()}), fork=True)
    assert not multiprocessing.active_children()


def test_close_stops_the_worker(events: TableShape) -> None:
    fast = PipelinedRecords(events, GeneratorConfig(count=100_000), batch=100, fork=True)
    first = next(iter(fast.batches()))
    assert len(first) == 100
    fast.close()
    assert not multiprocessing.active_children()


@pytest.mark.parametrize(
    ("error", "raised", "text"),
    [
        (ValueError("boom"), InfraError, "the generator process failed: ValueError: boom"),
        (ConfigError("no key lands in partition 2"), ConfigError, "no key lands in partition 2"),
    ],
)
def test_worker_failure_is_raised_here(
    events: TableShape,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    raised: type[Exception],
    text: str,
) -> None:
    def failing(self: _Generator, make: Any = None) -> Iterator[Any]:
        yield from ()
        raise error

    monkeypatch.setattr(_Generator, "run", failing)
    with pytest.raises(raised, match=text):
        list(PipelinedRecords(events, GeneratorConfig(count=10), fork=True))
    assert not multiprocessing.active_children()

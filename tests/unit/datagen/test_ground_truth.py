from __future__ import annotations

from pathlib import Path

import pytest

from ctt.config.datagen import GeneratorConfig, Malformed, TableShape
from ctt.datagen.generate import generate
from ctt.datagen.ground_truth import GroundTruthHeader, GroundTruthWriter, read_ground_truth
from ctt.errors import ConfigError


@pytest.mark.parametrize("fmt", ["json", "avro"])
def test_round_trip_keeps_exact_bytes(events: TableShape, tmp_path: Path, fmt: str) -> None:
    cfg = GeneratorConfig(
        count=200, format=fmt, late_data_percentage="5%", malformed=Malformed(share="5%")
    )
    header = GroundTruthHeader(
        table="user_events", seed=cfg.seed, partitions=3, format=fmt, watermark_delay_ms=5000
    )
    records = list(generate(events, cfg))
    with GroundTruthWriter(tmp_path / "gt.jsonl", header) as gt:
        for offset, rec in enumerate(records):
            gt.write(rec, offset)
    head, rows = read_ground_truth(tmp_path / "gt.jsonl")
    assert head == header
    by_index = {r.index: r for r in rows}
    assert len(by_index) == len(records)
    for rec in records:
        row = by_index[rec.index]
        assert row.raw_value() == rec.value
        assert (row.late, row.malformed, row.closing) == (rec.late, rec.malformed, rec.closing)
        assert row.value == rec.fields
        assert row.event_time_ms == rec.event_time_ms


def test_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "gt.jsonl"
    path.write_text('{"index": 1}\n')
    with pytest.raises(ConfigError) as err:
        read_ground_truth(path)
    assert err.value.line == 1

"""Value generators (``ctt.datagen.values``): distributions, enums, references, faker, JSON.

Through :func:`generate`, the way every field's generator is built and called.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctt.config.datagen import FieldSpec, GeneratorConfig, TableShape
from ctt.datagen.generate import generate
from ctt.errors import ConfigError

SLOW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _key_counts(table: TableShape, spec: FieldSpec, n: int = 5000) -> Counter[int]:
    cfg = GeneratorConfig(count=n, keys=100, fields={"user_id": spec}, closing=False)
    return Counter(r.fields["user_id"] for r in generate(table, cfg) if r.fields)


def test_uniform_zipf_and_hot_keys(events: TableShape) -> None:
    uniform = _key_counts(events, FieldSpec())
    zipf = _key_counts(events, FieldSpec(distribution="zipf", zipf_s=1.5))
    hot = _key_counts(events, FieldSpec(distribution="hot_keys", hot_keys=2, hot_share="80%"))
    assert max(uniform.values()) < 5000 * 0.03
    assert zipf.most_common(1)[0][1] > 5000 * 0.3
    assert sum(c for _, c in hot.most_common(2)) == pytest.approx(4000, rel=0.05)


@SLOW
@given(weights=st.lists(st.integers(1, 20), min_size=2, max_size=4))
def test_enum_weights(events: TableShape, weights: list[int]) -> None:
    enum = {f"v{i}": float(w) for i, w in enumerate(weights)}
    cfg = GeneratorConfig(count=4000, fields={"event_type": FieldSpec(enum=enum)}, closing=False)
    seen = Counter(r.fields["event_type"] for r in generate(events, cfg) if r.fields)
    total = sum(weights)
    for i, w in enumerate(weights):
        assert seen[f"v{i}"] / 4000 == pytest.approx(w / total, abs=0.05)


def test_references_with_missing_share(events: TableShape) -> None:
    users = [{"user_id": i} for i in range(1, 21)]
    cfg = GeneratorConfig(
        count=2000,
        fields={
            "user_id": FieldSpec(
                reference={"table": "users", "field": "user_id", "missing_share": "10%"}
            )
        },
        closing=False,
    )
    ids = [
        r.fields["user_id"] for r in generate(events, cfg, references={"users": users}) if r.fields
    ]
    missing = sum(i > 20 for i in ids)
    assert missing / 2000 == pytest.approx(0.10, abs=0.02)
    with pytest.raises(ConfigError, match="not generated"):
        generate(events, cfg)


def test_null_share_sequence_uuid_faker(events: TableShape) -> None:
    cfg = GeneratorConfig(
        count=1000,
        closing=False,
        fields={
            "payload": FieldSpec(type="uuid"),
            "age": FieldSpec(type="sequence", start=100),
            "user_name": FieldSpec(faker="email", nullable="50%"),
        },
    )
    rows = [r.fields for r in generate(events, cfg) if r.fields]
    assert [r["age"] for r in rows] == list(range(100, 1100))
    assert len({r["payload"] for r in rows}) == 1000
    names = [r["user_name"] for r in rows]
    assert 0.4 < names.count(None) / 1000 < 0.6
    assert all("@" in n for n in names if n is not None)


def test_json_payload_field(events: TableShape) -> None:
    spec = FieldSpec(
        type="json", fields={"product_id": FieldSpec(faker="bothify", faker_args={"text": "P-###"})}
    )
    rec = next(iter(generate(events, GeneratorConfig(count=1, fields={"payload": spec}))))
    assert rec.fields is not None
    assert json.loads(rec.fields["payload"])["product_id"].startswith("P-")

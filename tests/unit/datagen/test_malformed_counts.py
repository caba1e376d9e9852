"""error_handling's malformed records: exactly the counts asked for, and exactly those marked."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctt.config.datagen import FieldSpec, GeneratorConfig, Malformed, MalformedKind, TableShape
from ctt.config.error_handling import ErrorHandling
from ctt.datagen.generate import generate
from ctt.errors import ConfigError

ORDERS = TableShape(
    name="orders",
    columns=[
        ("order_id", "BIGINT"),
        ("user_id", "BIGINT"),
        ("product", "STRING"),
        ("quantity", "INT"),
        ("order_time", "TIMESTAMP(3)"),
    ],
    key_columns=["user_id"],
    event_time="order_time",
    watermark_delay_s=1.0,
    partitions=3,
)
BASE = GeneratorConfig(
    count=150,
    keys=7,
    fields={
        "order_id": FieldSpec(type="sequence"),
        "product": FieldSpec(enum=["book", "pen"]),
        "quantity": FieldSpec(min=1, max=5),
    },
)
ALLOWED = {"book", "pen"}
KINDS = [k for k in MalformedKind if k is not MalformedKind.POISON]


def _valid(rec_value: bytes) -> bool:
    """Independently of the generator: is this a well-formed order?"""
    try:
        row = json.loads(rec_value)
    except ValueError:
        return False
    if not isinstance(row, dict) or len(rec_value) > 2000:
        return False
    if set(row) != {"order_id", "user_id", "product", "quantity", "order_time"}:
        return False
    if not all(isinstance(row[c], int) for c in ("order_id", "user_id", "quantity")):
        return False
    if row["product"] not in ALLOWED:
        return False
    try:
        datetime.strptime(row["order_time"], "%Y-%m-%d %H:%M:%S.%f")
    except (TypeError, ValueError):
        return False
    return row["quantity"] != 0


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.dictionaries(st.sampled_from(KINDS), st.integers(0, 6), max_size=len(KINDS)),
    poison=st.integers(0, 2),
    seed=st.integers(0, 2**31),
    late=st.sampled_from([0.0, 0.05]),
)
def test_malformed_records_are_exactly_those_marked(
    counts: dict[MalformedKind, int], poison: int, seed: int, late: float
) -> None:
    eh = ErrorHandling.model_validate(
        {
            "malformed": counts,
            "max_record_bytes": 2000,
            **({"poison": {"field": "quantity", "value": 0, "count": poison}} if poison else {}),
        }
    )
    base = BASE.model_copy(update={"seed": seed, "late_data_percentage": late})
    cfg = eh.generator(base, {c.name: c.type for c in ORDERS.columns})
    recs = [r for r in generate(ORDERS, cfg) if not r.closing]
    got = {k: sum(1 for r in recs if r.malformed is k) for k in MalformedKind}
    want = {k: counts.get(k, 0) for k in KINDS} | {MalformedKind.POISON: poison}
    assert got == want
    for rec in recs:
        assert _valid(rec.value) == (rec.malformed is None), (rec.malformed, rec.value[:200])
        assert not (rec.late and rec.malformed is not None)


def test_counts_leave_the_rest_of_the_stream_alone() -> None:
    plain = [r.value for r in generate(ORDERS, BASE)]
    eh = ErrorHandling.model_validate({"malformed": {"not_json": 3}})
    mixed = list(generate(ORDERS, eh.generator(BASE, {})))
    assert [r.value for r in mixed if r.malformed is None] == [
        v for v, r in zip(plain, mixed, strict=True) if r.malformed is None
    ]


def test_more_bad_records_than_events_is_a_config_error() -> None:
    cfg = BASE.model_copy(
        update={"count": 3, "malformed": Malformed(counts={MalformedKind.NOT_JSON: 4})}
    )
    with pytest.raises(ConfigError, match="4 malformed records"):
        list(generate(ORDERS, cfg))


def test_poison_needs_its_field() -> None:
    with pytest.raises(ValueError, match="poison_field"):
        Malformed(counts={MalformedKind.POISON: 1})

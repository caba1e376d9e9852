"""Value generators: one zero-argument callable per field, compiled once, called per record.

Every field draws from its own ``random.Random`` seeded from (seed, table,
field path), so changing one field's settings never changes another field's
values. Faker providers fill a pool of values up front (``cardinality``,
default 1000) and records draw from the pool: deterministic, and fast enough
for hundreds of thousands of records per second.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ctt.config.datagen import Distribution, FieldSpec, FieldType
from ctt.datagen.types import INTEGER_KINDS, Kind, SqlType
from ctt.errors import ConfigError

if TYPE_CHECKING:  # faker costs ~0.3 s to import: only a field with a provider loads it
    from faker import Faker

ValueFn = Callable[[], Any]
DEFAULT_POOL = 1000
# Faker pools by (seed/table/path, provider, args, size): a pool is a pure function of its key
# and costs ~80 ms to draw, and a run's tests often generate the same table from the same seed.
_POOLS: dict[tuple[str, str, str, int], tuple[Any, ...]] = {}

_INT_RANGES = {
    Kind.TINYINT: (0, 127),
    Kind.SMALLINT: (0, 32_767),
    Kind.INT: (0, 1000),
    Kind.BIGINT: (0, 1_000_000),
}

# column name -> Faker provider (+ args): realistic values where a test reads better with them
_NAME_PROVIDERS: dict[str, tuple[str, dict[str, Any]]] = {
    "name": ("name", {}),
    "user_name": ("name", {}),
    "username": ("user_name", {}),
    "full_name": ("name", {}),
    "customer_name": ("name", {}),
    "first_name": ("first_name", {}),
    "last_name": ("last_name", {}),
    "email": ("email", {}),
    "user_email": ("email", {}),
    "city": ("city", {}),
    "country": ("country", {}),
    "country_code": ("country_code", {}),
    "phone": ("phone_number", {}),
    "address": ("street_address", {}),
    "company": ("company", {}),
    "url": ("url", {}),
    "ip": ("ipv4", {}),
    "ip_address": ("ipv4", {}),
    "currency": ("currency_code", {}),
    "product_id": ("bothify", {"text": "P-#####"}),
    "sku": ("bothify", {"text": "SKU-????-###", "letters": "ABCDEFGHJKLMNPQRSTUVWXYZ"}),
    "description": ("sentence", {"nb_words": 6}),
}
_NAME_ENUMS: dict[str, dict[str, float]] = {
    "event_type": {"view": 50, "click": 30, "purchase": 15, "add_to_cart": 5},
    "status": {"active": 70, "pending": 20, "inactive": 10},
}


def field_rng(seed: int, table: str, path: str) -> random.Random:
    """An independent, reproducible stream per field (string seeds hash with SHA-512)."""
    return random.Random(f"{seed}/{table}/{path}")


@lru_cache(maxsize=8192)
def _second_text(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")


_MILLIS = tuple(f".{milli:03d}" for milli in range(1000))


def format_timestamp(ms: int) -> str:
    """'yyyy-MM-dd HH:mm:ss.SSS': Flink's JSON format reads it for TIMESTAMP(3) ('SQL' format)."""
    second, milli = divmod(ms, 1000)
    return _second_text(second) + _MILLIS[milli]


def format_timestamps(times_ms: Iterable[int]) -> list[str]:
    """:func:`format_timestamp` of many times; formats each second once while times repeat it."""
    out: list[str] = []
    last, text = None, ""
    for ms in times_ms:
        second, milli = divmod(ms, 1000)
        if second != last:
            last, text = second, _second_text(second)
        out.append(text + _MILLIS[milli])
    return out


def column(fn: ValueFn, count: int) -> list[Any]:
    """``[fn() for _ in range(count)]``, faster for generators that know how to make many.

    Same values in the same order: the batch form (:func:`_with_many`) draws from
    the same stream exactly as ``count`` single calls would.
    """
    many = getattr(fn, "many", None)
    if many is not None:
        values: list[Any] = many(count)
        return values
    return [fn() for _ in range(count)]


def _with_many(fn: ValueFn, many: Callable[[int], list[Any]]) -> ValueFn:
    fn.many = many  # type: ignore[attr-defined]
    return fn


def format_timestamp_ltz(ms: int) -> str:
    """TIMESTAMP_LTZ in Flink's 'SQL' JSON timestamp format ends with a literal 'Z'."""
    return format_timestamp(ms) + "Z"


def format_date(ms: int) -> str:
    return _second_text(ms // 1000)[:10]


def chooser(n: int, spec: FieldSpec | None, rng: random.Random) -> Callable[[], int]:
    """Index into a pool of ``n`` values, with the spec's distribution (uniform, zipf, hot keys)."""
    rand = rng.random
    dist = spec.distribution if spec else Distribution.UNIFORM
    if n <= 1:
        return lambda: 0
    if dist is Distribution.ZIPF:
        assert spec is not None
        cum = list(itertools.accumulate(1.0 / (rank**spec.zipf_s) for rank in range(1, n + 1)))
        total = cum[-1]
        return lambda: min(bisect.bisect_left(cum, rand() * total), n - 1)
    if dist is Distribution.HOT_KEYS:
        assert spec is not None
        hot, share = min(spec.hot_keys, n), spec.hot_share
        cold = n - hot
        if cold == 0:
            return lambda: int(rand() * n)
        return lambda: int(rand() * hot) if rand() < share else hot + int(rand() * cold)
    return lambda: int(rand() * n)


def pooled(pool: Sequence[Any], spec: FieldSpec | None, rng: random.Random) -> ValueFn:
    """A value of ``pool``, drawn with :func:`chooser`; uniform draws also come in batches."""
    pick = chooser(len(pool), spec, rng)
    fn: ValueFn = lambda: pool[pick()]  # noqa: E731
    if len(pool) > 1 and (spec is None or spec.distribution is Distribution.UNIFORM):
        rand, n = rng.random, len(pool)  # as chooser's uniform branch: one draw per value
        return _with_many(fn, lambda count: [pool[int(rand() * n)] for _ in range(count)])
    return fn


def weighted(values: Sequence[Any], weights: Sequence[float], rng: random.Random) -> ValueFn:
    cum = list(itertools.accumulate(weights))
    total, rand, last = cum[-1], rng.random, len(values) - 1
    bisect_right = bisect.bisect_right
    return _with_many(
        lambda: values[min(bisect_right(cum, rand() * total), last)],
        lambda count: [values[min(bisect_right(cum, rand() * total), last)] for _ in range(count)],
    )


@dataclass(frozen=True)
class _Field:
    """One field being built: its path, SQL type, settings and own random stream."""

    path: str
    sql: SqlType
    spec: FieldSpec | None
    rng: random.Random
    event_time_ms: Callable[[], int]

    @property
    def leaf(self) -> str:
        """The column's own name, lower case (``address.city`` -> ``city``)."""
        return self.path.rsplit(".", 1)[-1].rstrip("[]").lower()


class FieldFactory:
    """Builds value generators for one table's fields from SQL types and overrides."""

    def __init__(
        self,
        *,
        seed: int,
        table: str,
        overrides: dict[str, FieldSpec],
        start_ms: int,
        span_ms: int,
        references: dict[str, list[dict[str, Any]]] | None,
    ) -> None:
        self.seed = seed
        self.table = table
        self.overrides = overrides
        self.used: set[str] = set()
        self.start_ms = start_ms
        self.span_ms = max(span_ms, 1)
        self.references = references or {}
        self._faker: Faker | None = None

    def faker_pool(self, path: str, provider: str, args: dict[str, Any], size: int) -> list[Any]:
        """``size`` values of a Faker provider, reproducible per field path."""
        seed = f"{self.seed}/{self.table}/{path}"
        key = (seed, provider, json.dumps(args, sort_keys=True, default=str), size)
        pool = _POOLS.get(key)
        if pool is None:  # two threads may both draw it: same key, same values
            pool = _POOLS.setdefault(key, tuple(self._draw(seed, path, provider, args, size)))
        return list(pool)

    def _draw(
        self, seed: str, path: str, provider: str, args: dict[str, Any], size: int
    ) -> list[Any]:
        if self._faker is None:
            from faker import Faker

            self._faker = Faker("en_US")
        fake = self._faker
        fake.seed_instance(seed)
        try:
            method = getattr(fake, provider)
        except AttributeError:
            raise ConfigError(
                f"field {path!r}: Faker has no provider {provider!r}",
                hint="see https://faker.readthedocs.io/en/master/providers.html",
            ) from None
        try:
            return [method(**args) for _ in range(size)]
        except TypeError as exc:
            raise ConfigError(f"field {path!r}: faker {provider}: {exc}") from None

    def spec(self, path: str) -> FieldSpec | None:
        spec = self.overrides.get(path)
        if spec is not None:
            self.used.add(path)
        return spec

    def reference_values(self, path: str, spec: FieldSpec) -> tuple[list[Any], list[Any]]:
        """(values present in the referenced stream, values guaranteed absent from it)."""
        ref = spec.reference
        assert ref is not None
        rows = self.references.get(ref.table)
        if rows is None:
            raise ConfigError(
                f"field {path!r} references table {ref.table!r}, which is not generated",
                hint="generate the referenced table first and pass its rows as references",
            )
        present: list[Any] = list(
            dict.fromkeys(v for r in rows if (v := r.get(ref.field)) is not None)
        )
        if not present:
            raise ConfigError(f"field {path!r}: {ref.table}.{ref.field} has no values")
        if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            top = max(present)
            absent: list[Any] = [top + 1 + i for i in range(max(16, len(present)))]
        else:
            absent = [f"missing-{i:05d}" for i in range(max(16, len(present)))]
        return present, absent

    def build(self, path: str, sql: SqlType, *, event_time_ms: Callable[[], int]) -> ValueFn:
        """The generator of one field. ``event_time_ms`` gives the current event's time."""
        spec = self.spec(path)
        fn = self._build(path, sql, spec, event_time_ms)
        share = spec.null_share if spec else 0.0
        if share > 0:
            rand = field_rng(self.seed, self.table, path + "#null").random
            inner = fn
            return lambda: None if rand() < share else inner()
        return fn

    def _build(
        self,
        path: str,
        sql: SqlType,
        spec: FieldSpec | None,
        event_time_ms: Callable[[], int],
    ) -> ValueFn:
        """What the field's settings ask for, else a generator by SQL type (and column name)."""
        f = _Field(path, sql, spec, field_rng(self.seed, self.table, path), event_time_ms)
        declared = self._declared(f)
        if declared is not None:
            return declared
        kind = _kind_for(spec.type) if spec and spec.type else sql.kind
        for by_kind in (self._number, self._temporal, self._nested):
            fn = by_kind(f, kind)
            if fn is not None:
                return fn
        return self._string(f)

    def _declared(self, f: _Field) -> ValueFn | None:
        """A reference, enum, faker provider, sequence, UUID or JSON object: what ``fields:`` says."""
        spec, rng, leaf = f.spec, f.rng, f.leaf
        ftype = spec.type if spec else None
        if spec and spec.reference is not None:
            present, absent = self.reference_values(f.path, spec)
            pick, miss, rand = (
                chooser(len(present), spec, rng),
                spec.reference.missing_share,
                rng.random,
            )
            pick_absent = chooser(len(absent), None, rng)
            return lambda: absent[pick_absent()] if rand() < miss else present[pick()]
        if (spec and spec.enum) or (ftype is None and spec is None and leaf in _NAME_ENUMS):
            enum = spec.enum if spec and spec.enum else _NAME_ENUMS[leaf]
            if isinstance(enum, dict):
                return weighted(list(enum), list(enum.values()), rng)
            return pooled(list(enum), spec, rng)
        if spec and spec.faker:
            return self._pooled(f.path, spec.faker, spec.faker_args, spec, rng, f.sql)
        if ftype is FieldType.SEQUENCE:
            counter = itertools.count(spec.start if spec else 1, spec.step if spec else 1)
            return lambda: next(counter)
        if ftype is FieldType.UUID:
            bits = rng.getrandbits
            return lambda: str(uuid.UUID(int=bits(128), version=4))
        if ftype is FieldType.JSON:
            members = {
                name: self.build(
                    f"{f.path}.{name}", _sql_for(sub.type), event_time_ms=f.event_time_ms
                )
                for name, sub in (spec.fields if spec else {}).items()
            }
            return lambda: json.dumps(
                {name: fn() for name, fn in members.items()}, separators=(",", ":")
            )
        return None

    @staticmethod
    def _number(f: _Field, kind: Kind) -> ValueFn | None:
        """Integers, floats and decimals (uniform in [min, max] unless distributed), booleans."""
        spec, sql, rng = f.spec, f.sql, f.rng
        if kind in INTEGER_KINDS:
            lo, hi = _INT_RANGES.get(kind, (0, 1000))
            if f.leaf == "age":
                lo, hi = 10, 90
            lo = int(spec.min) if spec and spec.min is not None else lo
            hi = int(spec.max) if spec and spec.max is not None else hi
            if spec and spec.distribution is not Distribution.UNIFORM:
                pick = chooser(min(hi - lo + 1, spec.cardinality or DEFAULT_POOL), spec, rng)
                return lambda: lo + pick()
            rand, width = rng.random, hi - lo + 1
            return _with_many(
                lambda: lo + int(rand() * width),
                lambda count: [lo + int(rand() * width) for _ in range(count)],
            )
        if kind in (Kind.DOUBLE, Kind.FLOAT):
            lo_f = spec.min if spec and spec.min is not None else 0.0
            hi_f = spec.max if spec and spec.max is not None else 1000.0
            uniform = rng.uniform
            return lambda: round(uniform(lo_f, hi_f), 4)
        if kind is Kind.DECIMAL:
            scale = sql.scale if sql.kind is Kind.DECIMAL and sql.scale is not None else 2
            precision = sql.precision if sql.kind is Kind.DECIMAL and sql.precision else 10
            unit = 10**scale
            top = min(10 ** (precision - scale) - 1, 1000)
            lo_u = round((spec.min if spec and spec.min is not None else 0) * unit)
            hi_u = round((spec.max if spec and spec.max is not None else top) * unit)
            rand, width = rng.random, hi_u - lo_u + 1
            return _with_many(
                lambda: (lo_u + int(rand() * width)) / unit,
                lambda count: [(lo_u + int(rand() * width)) / unit for _ in range(count)],
            )
        if kind is Kind.BOOLEAN:
            rand = rng.random
            return lambda: rand() < 0.5
        return None

    def _temporal(self, f: _Field, kind: Kind) -> ValueFn | None:
        """Timestamps and dates within the run's span (the year before for sign-up-like
        columns), times of day, and bytes."""
        rng = f.rng
        if kind in (Kind.TIMESTAMP, Kind.TIMESTAMP_LTZ, Kind.DATE):
            fmt = {
                Kind.TIMESTAMP: format_timestamp,
                Kind.TIMESTAMP_LTZ: format_timestamp_ltz,
                Kind.DATE: format_date,
            }[kind]
            start, span, rand = self.start_ms, self.span_ms, rng.random
            if f.leaf.endswith(("registration_date", "created_at", "signup_date", "birth_date")):
                start, span = start - 365 * 86_400_000, 365 * 86_400_000  # the year before
            return lambda: fmt(start + int(rand() * span))
        if kind is Kind.TIME:
            randrange = rng.randrange
            return lambda: _second_text(randrange(86_400))[11:]
        if kind is Kind.BYTES:
            bits = rng.getrandbits
            return lambda: uuid.UUID(int=bits(128)).hex
        return None

    def _nested(self, f: _Field, kind: Kind) -> ValueFn | None:
        """Arrays, maps and rows, from their elements' generators."""
        path, sql, spec, rng, event_time_ms = f.path, f.sql, f.spec, f.rng, f.event_time_ms
        if kind is Kind.ARRAY:
            assert sql.element is not None
            elem = self.build(f"{path}[]", sql.element, event_time_ms=event_time_ms)
            lo_n, hi_n = (spec.min_items, spec.max_items) if spec else (0, 3)
            randint = rng.randint
            return lambda: [elem() for _ in range(randint(lo_n, hi_n))]
        if kind is Kind.MAP:
            assert sql.element is not None and sql.key is not None
            key_fn = self.build(f"{path}{{}}", sql.key, event_time_ms=event_time_ms)
            val_fn = self.build(f"{path}[]", sql.element, event_time_ms=event_time_ms)
            lo_n, hi_n = (spec.min_items, spec.max_items) if spec else (0, 3)
            randint = rng.randint
            return lambda: {str(key_fn()): val_fn() for _ in range(randint(lo_n, hi_n))}
        if kind is Kind.ROW:
            members = {
                name: self.build(f"{path}.{name}", sub, event_time_ms=event_time_ms)
                for name, sub in sql.fields
            }
            return lambda: {name: fn() for name, fn in members.items()}
        return None

    def _string(self, f: _Field) -> ValueFn:
        """Strings: a Faker provider by column name, ``<prefix>-NNNNN`` ids, else words."""
        spec, rng, leaf = f.spec, f.rng, f.leaf
        if leaf in _NAME_PROVIDERS and spec is None:
            provider, args = _NAME_PROVIDERS[leaf]
            return self._pooled(f.path, provider, args, spec, rng, f.sql)
        if leaf.endswith("_id"):
            prefix = leaf[:-3].replace("_", "-") or "id"
            size = spec.cardinality if spec and spec.cardinality else DEFAULT_POOL
            pick = chooser(size, spec, rng)
            return lambda: f"{prefix}-{pick() + 1:05d}"
        return self._pooled(f.path, "word", {}, spec, rng, f.sql)

    def _pooled(
        self,
        path: str,
        provider: str,
        args: dict[str, Any],
        spec: FieldSpec | None,
        rng: random.Random,
        sql: SqlType,
    ) -> ValueFn:
        size = spec.cardinality if spec and spec.cardinality else DEFAULT_POOL
        pool = self.faker_pool(path, provider, args, size)
        if sql.kind is Kind.STRING and sql.length is not None:
            pool = [str(v)[: sql.length] for v in pool]
        else:
            pool = [v if isinstance(v, (int, float, bool, str)) else str(v) for v in pool]
        return pooled(pool, spec, rng)


def _kind_for(ftype: FieldType) -> Kind:
    return {
        FieldType.STRING: Kind.STRING,
        FieldType.INT: Kind.INT,
        FieldType.LONG: Kind.BIGINT,
        FieldType.DECIMAL: Kind.DECIMAL,
        FieldType.DOUBLE: Kind.DOUBLE,
        FieldType.BOOLEAN: Kind.BOOLEAN,
        FieldType.TIMESTAMP: Kind.TIMESTAMP,
        FieldType.DATE: Kind.DATE,
    }.get(ftype, Kind.STRING)


def _sql_for(ftype: FieldType | None) -> SqlType:
    return SqlType(_kind_for(ftype) if ftype else Kind.STRING)


def zipf_expected_top_share(n: int, s: float) -> float:
    """Share of draws that hit rank 1 under zipf(s) over ``n`` values (for tests and docs)."""
    return 1.0 / math.fsum(1.0 / (r**s) for r in range(1, n + 1))

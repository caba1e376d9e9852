"""The generator: a table and a config in, a deterministic stream of records out. No Kafka here.

Event time. ``N`` events spread evenly over ``time_range`` from ``start`` in
emission order; out-of-orderness moves each back by up to ``out_of_orderness``.

Watermarks and lateness. Per partition, as Flink's Kafka source computes them
per split: ``watermark = max event time seen in the partition - delay - 1 ms``.
An event is late when its time is at or behind that watermark at its emission
(:attr:`GeneratedRecord.late`). Late events (``late_data_percentage`` of them)
take a time behind the *minimum* watermark over all partitions that have data,
by up to ``late_by``, so they are late in Flink's combined view as well.

Closing events. After the last real event, one event per partition lies
``closing_gap`` (default one day) past the newest event plus the delay; it
moves every partition's watermark past the last window so windows fire. It is
a valid row, marked ``closing`` in the ground truth; validators ignore it.

Malformed records (``malformed.share``) replace normal events; they never
advance the watermark model and are never late.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import orjson

from ctt.config import suggest
from ctt.config.datagen import (
    Distribution,
    Format,
    GeneratorConfig,
    KeyFormat,
    MalformedKind,
    Partitioning,
    TableShape,
)
from ctt.datagen.avro import AvroEncoder
from ctt.datagen.partition import partition_for
from ctt.datagen.types import INTEGER_KINDS, Kind, SqlType, TypeSyntaxError, parse_type
from ctt.datagen.values import (
    FieldFactory,
    ValueFn,
    column,
    format_timestamp,
    format_timestamp_ltz,
    format_timestamps,
    pooled,
)
from ctt.errors import ConfigError
from ctt.kafka.record import GeneratedRecord

DEFAULT_CLOSING_GAP_MS = 86_400_000
_BLOCK = 1024  # rows built per column pass (see _Generator._rows)
_KEY_FALLBACKS = ("user_id", "id", "key")
_R = TypeVar("_R")


def generate(
    table: TableShape,
    config: GeneratorConfig,
    *,
    references: dict[str, list[dict[str, Any]]] | None = None,
) -> Iterator[GeneratedRecord]:
    """Records for ``table`` in emission order: ``N`` events, then closing events.

    ``references`` holds already generated rows of other tables (by table name)
    for fields with ``reference:``. Raises :class:`ConfigError` for settings
    that do not fit the table, before yielding anything.
    """
    return _Generator(table, config, references).run()


def _json(row: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; orjson because encoding is a third of the generator's time."""
    return orjson.dumps(row)


class _Generator:
    def __init__(
        self,
        table: TableShape,
        config: GeneratorConfig,
        references: dict[str, list[dict[str, Any]]] | None,
    ) -> None:
        self.table, self.config = table, config
        self.n = config.total_events()
        self.partitions = table.partitions
        self.start_ms = int(config.start.timestamp() * 1000)
        self.span_ms = round(config.event_span_s() * 1000)
        self.delay_ms = round(table.watermark_delay_s * 1000)
        self.ooo_ms = round(config.out_of_orderness * 1000)
        self.late_by_ms = round(config.late_by * 1000)
        self.rng = random.Random(f"{config.seed}/{table.name}/stream")
        self.types = {c.name: self._parse(c.name, c.type) for c in table.columns}
        self._check_field_names()
        self.cur_ms = self.start_ms
        self.factory = FieldFactory(
            seed=config.seed,
            table=table.name,
            overrides=config.fields,
            start_ms=self.start_ms,
            span_ms=self.span_ms,
            references=references,
        )
        self.key_field = self._key_field()
        self.event_time = table.event_time
        if self.event_time is None and config.late_data_percentage > 0:
            raise ConfigError(
                f"table {table.name!r}: late_data_percentage needs an event-time column",
                hint="declare WATERMARK FOR <column> in the table",
            )
        self.ts_text = self._ts_formatter()
        self.columns: list[tuple[str, ValueFn | None]] = [
            (
                c.name,
                None
                if c.name in (self.key_field, self.event_time)
                else self.factory.build(c.name, self.types[c.name], event_time_ms=self._now),
            )
            for c in table.columns
        ]
        self.cur_key: Any = None
        ts_text = self.ts_text
        self.row_fns: list[tuple[str, ValueFn]] = [
            (
                name,
                fn
                if fn is not None
                else (
                    (lambda: ts_text(self.cur_ms))
                    if name == self.event_time
                    else (lambda: self.cur_key)
                ),
            )
            for name, fn in self.columns
        ]
        self.key_pool, self.next_key = self._keys()
        self.message_key = list(table.key_columns) or ([self.key_field] if self.key_field else [])
        self.by_key = config.partitioning is Partitioning.KEY and bool(self.message_key)
        self._key_cache: dict[Any, tuple[bytes, int]] = {}
        self.avro = AvroEncoder(table) if config.format is Format.AVRO else None
        self.headers = tuple((k, v.encode()) for k, v in config.headers.items())
        self.max_ts: list[int | None] = [None] * self.partitions

    # --- setup ----------------------------------------------------------------------------------

    def _parse(self, column: str, text: str) -> SqlType:
        try:
            return parse_type(text)
        except TypeSyntaxError as exc:
            raise ConfigError(f"table {self.table.name!r}, column {column!r}: {exc}") from None

    def _check_field_names(self) -> None:
        names = list(self.types)
        for path in self.config.fields:
            top = path.split(".", 1)[0].split("[", 1)[0]
            if top not in names:
                near = suggest(top, names)
                raise ConfigError(
                    f"fields: table {self.table.name!r} has no column {top!r}",
                    hint=f"did you mean {near!r}?" if near else f"columns: {', '.join(names)}",
                )

    def _now(self) -> int:
        return self.cur_ms

    def _key_field(self) -> str | None:
        cfg = self.config
        if cfg.key_field is not None:
            if cfg.key_field not in self.types:
                near = suggest(cfg.key_field, list(self.types))
                raise ConfigError(
                    f"key_field: table {self.table.name!r} has no column {cfg.key_field!r}",
                    hint=f"did you mean {near!r}?" if near else None,
                )
            return cfg.key_field
        if self.table.key_columns:
            return self.table.key_columns[0]
        for name in _KEY_FALLBACKS:
            if name in self.types:
                return name
        if cfg.events_per_key is not None:
            raise ConfigError(
                f"table {self.table.name!r}: events_per_user needs a key column",
                hint="set key_field to the column that identifies a user",
            )
        return None

    def _ts_formatter(self) -> Callable[[int], Any]:
        if self.event_time is None:
            return format_timestamp
        kind = self.types[self.event_time].kind
        if kind is Kind.TIMESTAMP_LTZ:
            return format_timestamp_ltz
        if kind in INTEGER_KINDS:
            return int
        return format_timestamp

    def _keys(self) -> tuple[list[Any], Callable[[], Any]]:
        """The key pool and how the next event's key is drawn from it."""
        if self.key_field is None:
            return [], lambda: None
        cfg, name = self.config, self.key_field
        spec = cfg.fields.get(name)
        sql = self.types[name]
        rng = random.Random(f"{cfg.seed}/{self.table.name}/keys")
        if spec is not None and spec.reference is not None:
            fn = self.factory.build(name, sql, event_time_ms=self._now)
            return [], fn
        pool = self._key_values(name, sql, cfg.keys)
        if cfg.events_per_key is not None:
            if spec is not None and spec.distribution is not Distribution.UNIFORM:
                raise ConfigError(
                    f"fields.{name}: events_per_user gives every key the same count; "
                    f"remove distribution {spec.distribution.value!r} or events_per_user"
                )
            order = [k for k in range(len(pool)) for _ in range(cfg.events_per_key)]
            rng.shuffle(order)
            it = iter(order)
            return pool, lambda: pool[next(it)]
        return pool, pooled(pool, spec, rng)

    def _key_values(self, name: str, sql: SqlType, count: int) -> list[Any]:
        spec = self.config.fields.get(name)
        if sql.kind in INTEGER_KINDS:
            lo = int(spec.min) if spec and spec.min is not None else 1
            return list(range(lo, lo + count))
        if spec is not None and (spec.faker or spec.enum or spec.type):
            fn = self.factory.build(name, sql, event_time_ms=self._now)
            seen: dict[Any, None] = {}
            for _ in range(count * 50):
                seen.setdefault(fn(), None)
                if len(seen) == count:
                    return list(seen)
            raise ConfigError(
                f"fields.{name}: cannot draw {count} distinct keys (got {len(seen)})",
                hint="lower 'keys' or raise the field's cardinality",
            )
        prefix = name[:-3].replace("_", "-") if name.endswith("_id") else name
        return [f"{prefix or 'key'}-{i + 1:05d}" for i in range(count)]

    # --- per record -----------------------------------------------------------------------------

    def _encode_key(self, row: dict[str, Any]) -> bytes | None:
        if not self.message_key:
            return None
        if self.config.key_format is KeyFormat.RAW:
            return str(row.get(self.message_key[0])).encode()
        return _json({k: row.get(k) for k in self.message_key})

    def _row(self, ts: int, key: Any) -> dict[str, Any]:
        self.cur_ms, self.cur_key = ts, key
        return {name: fn() for name, fn in self.row_fns}

    def _rows(self, first: int, stop: int) -> list[dict[str, Any]]:
        """Rows of events ``first`` to ``stop - 1``, built one column at a time.

        Twice as fast as a row at a time. The same values: every field draws from
        its own stream (and keys from theirs), so only the order within a column counts.
        """
        count, n, start, span = stop - first, self.n, self.start_ms, self.span_ms
        ts_text = self.ts_text
        keys = column(self.next_key, count)
        cols: list[list[Any]] = []
        for name, fn in self.columns:
            if fn is not None:
                cols.append(column(fn, count))
            elif name == self.event_time:
                times = (start + (i * span) // n for i in range(first, stop))
                if ts_text is format_timestamp:
                    cols.append(format_timestamps(times))
                else:
                    cols.append([ts_text(t) for t in times])
            else:
                cols.append(keys)
        if not cols:
            return [{} for _ in range(count)]
        names = [name for name, _ in self.columns]
        return [dict(zip(names, values, strict=False)) for values in zip(*cols, strict=False)]

    def _encode(self, row: dict[str, Any]) -> bytes:
        return self.avro.encode(row) if self.avro is not None else _json(row)

    def _watermark(self, partition: int) -> int | None:
        top = self.max_ts[partition]
        return None if top is None else top - self.delay_ms - 1

    def _global_watermark(self) -> int | None:
        seen = [t for t in self.max_ts if t is not None]
        return min(seen) - self.delay_ms - 1 if seen else None

    def _plan_indices(self) -> tuple[set[int], dict[int, MalformedKind]]:
        cfg, n = self.config, self.n
        late: set[int] = set()
        want = round(cfg.late_data_percentage * n)
        if want and self.span_ms > 0:
            # before this index the watermark has not yet passed the start of the range
            warmup = math.ceil(n * (self.delay_ms + self.ooo_ms + 2) / self.span_ms)
            lo = min(n, warmup + 2 * self.partitions)
            late = set(self.rng.sample(range(lo, n), min(want, n - lo)))
        malformed: dict[int, MalformedKind] = {}
        share = cfg.malformed.share
        if share > 0 and cfg.malformed.kinds:
            candidates = [i for i in range(n) if i not in late]
            chosen = self.rng.sample(candidates, min(round(share * n), len(candidates)))
            kinds = cfg.malformed.kinds
            malformed = {i: kinds[self.rng.randrange(len(kinds))] for i in sorted(chosen)}
        if cfg.malformed.counts:
            malformed.update(self._counted(late | set(malformed)))
        return late, malformed

    def _counted(self, taken: set[int]) -> dict[int, MalformedKind]:
        """Exactly ``malformed.counts`` records of each kind, at seeded places not yet taken.

        Its own random stream, so adding counts leaves the rest of the stream as it was.
        """
        counts = self.config.malformed.counts
        kinds = [k for k in MalformedKind for _ in range(counts.get(k, 0))]
        free = [i for i in range(self.n) if i not in taken]
        if len(kinds) > len(free):
            raise ConfigError(
                f"table {self.table.name!r}: {len(kinds)} malformed records asked for, but only "
                f"{len(free)} events to replace; raise `count`"
            )
        rng = random.Random(f"{self.config.seed}/{self.table.name}/malformed")
        places = rng.sample(free, len(kinds))
        return dict(zip(places, kinds, strict=True))

    def run(self, make: Callable[..., _R] = GeneratedRecord) -> Iterator[_R]:  # type: ignore[assignment]
        """The records; ``make`` is called with :class:`GeneratedRecord`'s fields, in order."""
        late_idx, malformed_idx = self._plan_indices()
        n, start, span, delay = self.n, self.start_ms, self.span_ms, self.delay_ms
        ooo, late_by = self.ooo_ms, self.late_by_ms
        rand_ooo = random.Random(f"{self.config.seed}/{self.table.name}/ooo").randint
        rand_late = random.Random(f"{self.config.seed}/{self.table.name}/late").randint
        has_time = self.event_time is not None
        max_ts, headers, placement, cache = (
            self.max_ts,
            self.headers,
            self._placement,
            self._key_cache,
        )
        # placement's cache, looked up here: this loop runs once per record
        cache_on = self.key_field if self.by_key and self.message_key == [self.key_field] else None
        encode: Callable[[dict[str, Any]], bytes] = (
            self.avro.encode if self.avro is not None else _json
        )
        for first in range(0, n, _BLOCK):
            stop = min(n, first + _BLOCK)
            for i, row in zip(range(first, stop), self._rows(first, stop), strict=True):
                base = start + (i * span) // n
                # the partition depends on the key only, never on the event time
                hit = cache.get(row[cache_on]) if cache_on is not None else None
                key_bytes, part = hit if hit is not None else placement(row, i)
                top = max_ts[part]
                wm = None if top is None else top - delay - 1
                kind = malformed_idx.get(i)
                if kind is not None:
                    ts = start if top is None else min(base, top)
                    self._set_time(row, ts)
                    value, fields = self._malform(kind, row)
                    yield make(
                        i, key_bytes, value, fields, ts, part, wm, False, kind, False, headers
                    )
                    continue
                if i in late_idx:
                    gwm = self._global_watermark()
                    ts = base if gwm is None else max(start, gwm - rand_late(0, late_by))
                else:
                    ts = base - rand_ooo(0, ooo) if ooo else base
                    if ts < start:
                        ts = start
                is_late = has_time and wm is not None and ts <= wm
                if top is None or ts > top:
                    max_ts[part] = ts
                if ts != base:
                    self._set_time(row, ts)
                yield make(
                    i,
                    key_bytes,
                    encode(row),
                    row,
                    ts,
                    part,
                    wm if has_time else None,
                    is_late,
                    None,
                    False,
                    headers,
                )
        if self.config.closing and has_time:
            yield from self._closing(make)

    def _set_time(self, row: dict[str, Any], ts: int) -> None:
        if self.event_time is not None:
            row[self.event_time] = self.ts_text(ts)

    def _placement(self, row: dict[str, Any], index: int) -> tuple[bytes | None, int]:
        """Key bytes and partition; cached per key value when the key is the key field alone."""
        if not self.message_key:
            return None, index % self.partitions
        cache_on = self.key_field if self.message_key == [self.key_field] else None
        if cache_on is not None:
            hit = self._key_cache.get(row[cache_on])
            if hit is not None:
                return hit[0], hit[1] if self.by_key else index % self.partitions
        key = self._encode_key(row)
        assert key is not None
        part = partition_for(key, self.partitions)
        if cache_on is not None:
            self._key_cache[row[cache_on]] = (key, part)
        return key, part if self.by_key else index % self.partitions

    def _closing(self, make: Callable[..., _R]) -> Iterator[_R]:
        seen = [t for t in self.max_ts if t is not None]
        newest = max(seen) if seen else self.start_ms + self.span_ms
        gap = self.config.closing_gap
        gap_ms = DEFAULT_CLOSING_GAP_MS if gap is None else round(gap * 1000)
        ts = newest + self.delay_ms + gap_ms + 1
        for part in range(self.partitions):
            row, key_bytes = self._closing_row(ts, part)
            wm = self._watermark(part)
            self.max_ts[part] = ts
            yield make(
                self.n + part,
                key_bytes,
                self._encode(row),
                row,
                ts,
                part,
                wm,
                False,
                None,
                True,
                self.headers,
            )

    def _closing_row(self, ts: int, part: int) -> tuple[dict[str, Any], bytes | None]:
        """A valid row at ``ts`` whose key lands in ``part`` (pool keys first, then made-up ones)."""
        if not self.by_key:
            key = self.key_pool[part % len(self.key_pool)] if self.key_pool else None
            row = self._row(ts, key)
            return row, self._encode_key(row)
        is_int = self.key_field is not None and self.types[self.key_field].kind in INTEGER_KINDS
        base = (max(self.key_pool) + 1) if is_int and self.key_pool else 1_000_000
        candidates = itertools.chain(
            self.key_pool,
            ((base + j) if is_int else f"closing-{j:05d}" for j in range(100_000)),
        )
        for key in candidates:
            row = self._row(ts, key)
            encoded = self._encode_key(row)
            if encoded is not None and partition_for(encoded, self.partitions) == part:
                return row, encoded
        raise ConfigError(f"no key lands in partition {part}")  # pragma: no cover

    # --- malformed ------------------------------------------------------------------------------

    def _target(self, want: Callable[[SqlType], bool]) -> str | None:
        skip = {self.key_field, self.event_time}
        for name, sql in self.types.items():
            if name not in skip and want(sql):
                return name
        return None

    def _malform(
        self, kind: MalformedKind, row: dict[str, Any]
    ) -> tuple[bytes, dict[str, Any] | None]:
        valid = self._encode(row)
        if kind is MalformedKind.NOT_JSON:
            return valid[: max(1, len(valid) // 2)], None
        bad = dict(row)
        if kind is MalformedKind.WRONG_TYPE:
            numeric = INTEGER_KINDS | {Kind.DOUBLE, Kind.FLOAT, Kind.DECIMAL, Kind.BOOLEAN}
            name = self._target(lambda t: t.kind in numeric) or self.event_time or self.key_field
            if name is None:
                name = next(iter(self.types))
                bad[name] = {"unexpected": ["object"]}
            else:
                bad[name] = "not-a-number" if name != self.event_time else "not-a-timestamp"
            return _json(bad), bad
        if kind is MalformedKind.MISSING_FIELD:
            name = (
                self._target(lambda t: not t.nullable)
                or self.key_field
                or self.event_time
                or next(iter(self.types))
            )
            bad.pop(name, None)
            return _json(bad), bad
        if kind is MalformedKind.BAD_TIMESTAMP:
            timed = (Kind.TIMESTAMP, Kind.TIMESTAMP_LTZ)
            name = self.event_time or self._target(lambda t: t.kind in timed)
            if name is None:
                raise ConfigError(
                    f"table {self.table.name!r}: bad_timestamp needs a timestamp column"
                )
            bad[name] = "2024-02-30 25:61:00.000"  # no such day, hour or minute
            return _json(bad), bad
        if kind is MalformedKind.UNKNOWN_ENUM:
            name = self.config.malformed.enum_field
            if name is None or name not in self.types:
                raise ConfigError(f"table {self.table.name!r}: unknown_enum needs an enum column")
            bad[name] = "__not_in_enum__"
            return _json(bad), bad
        if kind is MalformedKind.POISON:
            name = self.config.malformed.poison_field
            if name is None or name not in self.types:
                raise ConfigError(f"table {self.table.name!r}: poison names no column of it")
            bad[name] = self.config.malformed.poison_value
            return self._encode(bad), bad
        size = self.config.malformed.oversize_bytes
        name = self._target(lambda t: t.kind is Kind.STRING) or "_padding"
        bad[name] = str(bad.get(name) or "") + "x" * size
        encoded = self._encode(bad) if name in self.types else _json(bad)
        return encoded, bad

"""What the generator is asked for: the table it fills (:class:`TableShape`) and how (:class:`GeneratorConfig`).

Both are pydantic models so specs, the CLI and the Flink test runner hand the
generator validated data. :meth:`GeneratorConfig.from_spec` accepts the seed's
list form (``test_data: [{time_range: "2 hours"}, {events_per_user: 50}, ...]``)
verbatim, as well as the mapping form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ctt.config import SourceMap, parse_model, suggest
from ctt.config.durations import Duration, Percent
from ctt.errors import ConfigError

DEFAULT_SEED = 20240101
"""Fixed default seed: two runs of the same spec produce byte-identical records."""

DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)
"""Fixed default start of event time (midnight, so hour and day windows align with it)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- the table ---------------------------------------------------------------------------------


class Column(_Strict):
    """A physical column: its name and its Flink SQL type as written in the DDL."""

    name: str
    type: str = Field(description="Flink SQL type, e.g. 'BIGINT', 'DECIMAL(10, 2)', 'ROW<a INT>'")


class TableShape(_Strict):
    """What the generator needs to know of a source table (derived from its CREATE TABLE)."""

    name: str
    columns: list[Column]
    key_columns: list[str] = Field(
        default_factory=list, description="Kafka message key fields (key.fields / PRIMARY KEY)"
    )
    event_time: str | None = Field(None, description="the WATERMARK FOR column")
    watermark_delay_s: float = Field(
        0.0, ge=0, description="from `WATERMARK FOR ts AS ts - INTERVAL '5' SECOND`: 5.0"
    )
    partitions: int = Field(1, ge=1)

    @field_validator("columns", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """Accept ``[("id", "INT"), ...]`` pairs as well as column objects."""
        if isinstance(value, list):
            return [
                {"name": c[0], "type": c[1]} if isinstance(c, (tuple, list)) and len(c) == 2 else c
                for c in value
            ]
        return value

    @model_validator(mode="after")
    def _known_names(self) -> TableShape:
        names = [c.name for c in self.columns]
        if not names:
            raise ValueError(f"table {self.name!r} has no columns")
        for col in [*self.key_columns, *([self.event_time] if self.event_time else [])]:
            if col not in names:
                near = suggest(col, names)
                hint = f"; did you mean {near!r}?" if near else ""
                raise ValueError(f"table {self.name!r} has no column {col!r}{hint}")
        return self

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


# --- per-field overrides -----------------------------------------------------------------------


class FieldType(StrEnum):
    """Value kinds a field can be forced to, whatever its SQL type says."""

    STRING = "string"
    INT = "int"
    LONG = "long"
    DECIMAL = "decimal"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    DATE = "date"
    UUID = "uuid"
    SEQUENCE = "sequence"
    ENUM = "enum"
    JSON = "json"  # a STRING column that holds a JSON document built from `fields`


class Distribution(StrEnum):
    UNIFORM = "uniform"
    ZIPF = "zipf"
    HOT_KEYS = "hot_keys"


class Reference(_Strict):
    """Draw values from another generated stream (events' user_id from users.user_id)."""

    table: str
    field: str
    missing_share: Percent = Field(
        0.0, description="share of values that are NOT in the referenced stream (join misses)"
    )


class FieldSpec(_Strict):
    """Overrides for one column (or a nested field, named ``payload.product_id``)."""

    type: FieldType | None = None
    faker: str | None = Field(
        None, description="Faker provider, e.g. 'name', 'email', 'city', 'bothify'"
    )
    faker_args: dict[str, Any] = Field(default_factory=dict)
    enum: list[Any] | dict[str, float] | None = Field(
        None, description="values, or value -> weight"
    )
    min: float | None = None
    max: float | None = None
    null_share: Percent = Field(0.0, alias="nullable")
    distribution: Distribution = Distribution.UNIFORM
    zipf_s: float = Field(1.2, gt=1.0, description="zipf exponent (> 1; larger is more skewed)")
    hot_keys: int = Field(1, ge=1, description="how many hot values (distribution: hot_keys)")
    hot_share: Percent = Field(0.8, description="share of values that are hot")
    cardinality: int | None = Field(
        None, ge=1, description="distinct values to draw from (default: per type)"
    )
    start: int = Field(1, description="first value of a sequence")
    step: int = Field(1, description="increment of a sequence")
    reference: Reference | None = None
    fields: dict[str, FieldSpec] = Field(
        default_factory=dict, description="members of a `type: json` field"
    )
    min_items: int = Field(0, ge=0, description="ARRAY/MAP size bounds")
    max_items: int = Field(3, ge=0)

    @model_validator(mode="after")
    def _coherent(self) -> FieldSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.max_items < self.min_items:
            raise ValueError("max_items is smaller than min_items")
        if self.type is FieldType.ENUM and not self.enum:
            raise ValueError("type 'enum' needs 'enum' values")
        if isinstance(self.enum, dict) and any(w < 0 for w in self.enum.values()):
            raise ValueError("enum weights must not be negative")
        if isinstance(self.enum, dict) and sum(self.enum.values()) <= 0:
            raise ValueError("enum weights must not all be zero")
        return self


# --- the generator -----------------------------------------------------------------------------


class Pattern(StrEnum):
    """Shape of the emission rate over wall-clock time."""

    CONSTANT = "constant"
    BURST = "burst"  # `burst_factor` x rate for 1 s in every `period`, the rest at rate
    RAMP = "ramp"  # from 10% to 100% of rate over `period`, then flat
    SINE = "sine"  # rate x (1 + 0.5 sin(2 pi t / period))


class Partitioning(StrEnum):
    KEY = "key"  # murmur2(key) % partitions, as Kafka's Java default partitioner
    ROUND_ROBIN = "round_robin"


class Format(StrEnum):
    JSON = "json"
    AVRO = "avro"  # schemaless Avro binary (Flink's 'avro' format); schema derived from the table


class KeyFormat(StrEnum):
    JSON = "json"  # {"user_id": 7}: Flink 'key.format' = 'json' with 'key.fields'
    RAW = "raw"  # the single key field's text: 'key.format' = 'raw'


class MalformedKind(StrEnum):
    NOT_JSON = "not_json"  # bytes no decoder accepts
    WRONG_TYPE = "wrong_type"  # a field holds a value of another type
    MISSING_FIELD = "missing_field"  # a required field is absent
    OVERSIZED = "oversized"  # larger than `oversize_bytes`
    BAD_TIMESTAMP = "bad_timestamp"  # a timestamp column holds a date that does not exist
    UNKNOWN_ENUM = "unknown_enum"  # an enum column holds a value outside its enum
    POISON = "poison"  # parses, but `poison_field` holds `poison_value`: the job throws


SHARE_KINDS = (
    MalformedKind.NOT_JSON,
    MalformedKind.WRONG_TYPE,
    MalformedKind.MISSING_FIELD,
    MalformedKind.OVERSIZED,
)
"""The kinds ``share`` draws from by default: those that need no field named."""


class Malformed(_Strict):
    share: Percent = 0.0
    kinds: list[MalformedKind] = Field(default_factory=lambda: list(SHARE_KINDS))
    counts: dict[MalformedKind, int] = Field(
        default_factory=dict,
        description="kind -> exact number of records (error_handling.malformed); beside share",
    )
    oversize_bytes: int = Field(
        100_000, ge=1, description="size of oversized records (keep under the broker's 1 MB)"
    )
    enum_field: str | None = Field(None, description="the column unknown_enum records spoil")
    poison_field: str | None = Field(None, description="the column poison records set")
    poison_value: Any = None

    @model_validator(mode="after")
    def _named(self) -> Malformed:
        if self.counts.get(MalformedKind.POISON) and self.poison_field is None:
            raise ValueError("poison records need poison_field")
        return self


class GeneratorConfig(_Strict):
    """How to generate one table's stream. Every default is deterministic."""

    seed: int = DEFAULT_SEED
    count: int | None = Field(None, ge=0, description="events (default: keys x events_per_key)")
    time_range: Duration | None = Field(
        None, description="event-time span (default: 1 hour, or count / rate)"
    )
    start: datetime = Field(DEFAULT_START, description="first event time")
    keys: int = Field(10, ge=1, description="distinct values of key_field")
    events_per_key: int | None = Field(None, ge=0, alias="events_per_user")
    key_field: str | None = Field(
        None, description="column whose values are the keys (default: first key column)"
    )
    rate: float | None = Field(None, gt=0, description="events/s when producing (default: max)")
    pattern: Pattern = Pattern.CONSTANT
    period: Duration = Field(60.0, gt=0, description="period of burst/sine, length of ramp")
    burst_factor: float = Field(10.0, ge=1)
    duration: Duration | None = Field(None, description="wall-clock run length (with rate)")
    out_of_orderness: Duration = Field(0.0, description="max lag of an event behind the newest")
    late_data_percentage: Percent = Field(
        0.0, description="share of events emitted after the watermark passed them"
    )
    late_by: Duration = Field(
        300.0, description="late events fall up to this far behind the watermark"
    )
    closing: bool = Field(True, description="emit a closing event per partition at the end")
    closing_gap: Duration | None = Field(
        None, description="how far past the last event the closing event lies (default: 1 day)"
    )
    malformed: Malformed = Field(default_factory=Malformed)
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    partitioning: Partitioning = Partitioning.KEY
    format: Format = Format.JSON
    key_format: KeyFormat = KeyFormat.JSON
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("start", mode="after")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _coherent(self) -> GeneratorConfig:
        if (
            self.count is not None
            and self.events_per_key is not None
            and self.count != self.keys * self.events_per_key
        ):
            raise ValueError(
                f"count ({self.count}) contradicts keys x events_per_key "
                f"({self.keys} x {self.events_per_key}); give one of them"
            )
        if self.duration is not None and self.rate is None and self.count is None:
            raise ValueError("'duration' needs 'rate' (or 'count')")
        return self

    def total_events(self) -> int:
        """How many real events (closing events not counted)."""
        if self.count is not None:
            return self.count
        if self.events_per_key is not None:
            return self.keys * self.events_per_key
        if self.duration is not None and self.rate is not None:
            return round(self.duration * self.rate)
        return 1000

    def event_span_s(self) -> float:
        """Event-time span in seconds."""
        if self.time_range is not None:
            return self.time_range
        if self.rate is not None:
            return self.total_events() / self.rate
        return 3600.0

    @classmethod
    def from_spec(
        cls,
        data: Any,
        smap: SourceMap | None = None,
        *,
        root: tuple[str | int, ...] = (),
    ) -> GeneratorConfig:
        """One config from the mapping form or the seed's list of one-key mappings.

        ``smap``/``root`` locate ``data`` in the user's file, so errors (unknown
        keys with the nearest valid name, bad values) point at its lines.
        """
        smap = smap or SourceMap("<test_data>")
        if data is None:
            return cls()
        if isinstance(data, list):
            merged: dict[str, Any] = {}
            lines = dict(smap.lines)  # errors on a key point at its own list item
            for i, item in enumerate(data):
                if not isinstance(item, dict):
                    where = ".".join(map(str, (*root, i))) or "test_data"
                    raise ConfigError(
                        f"{where}: expected 'key: value', got {item!r}",
                        file=smap.file,
                        line=smap.line_of((*root, i)),
                    )
                for key, value in item.items():
                    line = smap.line_of((*root, i, key))
                    if key in merged:
                        raise ConfigError(f"{key!r} is given twice", file=smap.file, line=line)
                    merged[key] = value
                    if line is not None:
                        lines[(*root, key)] = line
            return parse_model(cls, merged, SourceMap(smap.file, lines), root=root)
        if not isinstance(data, dict):
            raise ConfigError(
                "test data must be a mapping or a list of 'key: value' items",
                file=smap.file,
                line=smap.line_of(root),
            )
        return parse_model(cls, data, smap, root=root)

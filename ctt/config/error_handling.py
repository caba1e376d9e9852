"""A spec's ``error_handling:`` section: which malformed records to mix in and where they must go.

The generator mixes exactly ``malformed: {kind: count}`` bad records (and ``poison``
records, parseable ones that make the job throw) into one generated source table; the
ground truth marks each. ``routing: generated`` has ctt read that table raw and send
parseable rows on to the SQL and the rest, with a reason, to the dead-letter table
(:mod:`ctt.sql.dlq`); ``routing: sql`` means the test's SQL does the routing itself and
ctt checks it as written. The validators (``dlq_routing``, ``no_data_loss``, ...) judge
the result against the ground truth. Reference: docs/spec-reference.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ctt.config.datagen import GeneratorConfig, Malformed, MalformedKind
from ctt.config.yaml_source import SourceMap, suggest

DEFAULT_DLQ = "dead_letter_queue"
"""The dead-letter table ctt creates for generated routing (the seed's ``dead-letter-queue``)."""


class Routing(StrEnum):
    GENERATED = "generated"  # ctt reads the source raw and routes (EXECUTE STATEMENT SET)
    SQL = "sql"  # the test's own SQL routes; ctt checks it as written


class Poison(BaseModel):
    """Records that parse but make the job throw: ``field`` set to ``value`` (``quantity: 0``)."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(1, ge=1)
    field: str
    value: Any = Field(description="a value of the field's type that the SQL cannot process")


class ErrorHandling(BaseModel):
    """The ``error_handling:`` section of one test."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(
        None,
        description="the generated source table to mix bad records into (default: the only one)",
    )
    malformed: dict[MalformedKind, int] = Field(
        default_factory=dict, description="kind -> exact number of records of that kind"
    )
    poison: Poison | None = None
    routing: Routing = Routing.GENERATED
    dead_letter: str = Field(DEFAULT_DLQ, description="the table errors must reach")
    raw_table: str | None = Field(
        None,
        description="routing: sql: the table (one `payload STRING` column) ctt declares over the "
        "source's topic for the SQL to parse (default: <source>_raw)",
    )
    max_record_bytes: int = Field(
        10_000, ge=1, description="generated routing: longer payloads are 'oversized'"
    )
    required: list[str] | None = Field(
        None, description="generated routing: fields that must be present (default: every column)"
    )
    enums: dict[str, list[str]] = Field(
        default_factory=dict,
        description="generated routing: column -> allowed values (default: the generator's enum)",
    )

    @model_validator(mode="after")
    def _coherent(self) -> ErrorHandling:
        if MalformedKind.POISON in self.malformed:
            raise ValueError("give poison records under `poison:` (field and value), not malformed")
        for kind, n in self.malformed.items():
            if n < 0:
                raise ValueError(f"malformed.{kind.value}: a count is 0 or more, got {n}")
        return self

    def generator(self, base: GeneratorConfig, columns: dict[str, str]) -> GeneratorConfig:
        """``base`` with this section's bad records mixed in (``columns``: the table's schema)."""
        counts = dict(self.malformed)
        extra: dict[str, Any] = {}
        if self.poison is not None:
            counts[MalformedKind.POISON] = self.poison.count
            extra = {"poison_field": self.poison.field, "poison_value": self.poison.value}
        enum_field = next(iter(self.enums), None) or next(
            (c for c, f in base.fields.items() if f.enum and c in columns), None
        )
        malformed = Malformed(
            counts=counts,
            oversize_bytes=max(base.malformed.oversize_bytes, self.max_record_bytes + 1)
            if MalformedKind.OVERSIZED in counts
            else base.malformed.oversize_bytes,
            enum_field=enum_field,
            **extra,
        )
        return base.model_copy(update={"malformed": malformed})

    def allowed_values(self, base: GeneratorConfig) -> dict[str, list[str]]:
        """Enum columns the routing checks: as given, else the generator's enum fields."""
        if self.enums:
            return self.enums
        out: dict[str, list[str]] = {}
        for name, spec in base.fields.items():
            if spec.enum:
                values = spec.enum if isinstance(spec.enum, list) else list(spec.enum)
                out[name] = [str(v) for v in values]
        return out

    def check(
        self,
        smap: SourceMap,
        loc: tuple[str | int, ...],
        *,
        source: str | None,
        generated: Mapping[str, GeneratorConfig],
        tables: Mapping[str, Mapping[str, str]],
    ) -> None:
        """A ConfigError at the user's line unless this names a generated table and its columns.

        ``generated`` holds the test's generators with this section applied, ``tables`` each
        declared table's schema (the spec loader passes both).
        """
        if source is None or source not in generated:
            raise smap.error(
                "error_handling: name the generated source table to mix bad records into"
                if source is None
                else f"error_handling: table {source!r} has no `generate:` data to mix bad "
                "records into",
                (*loc, "source") if self.source else loc,
                hint=f"generated tables: {', '.join(generated) or 'none'}",
            )
        columns = tables[source]
        named: list[tuple[str, str | int, str]] = (
            [("poison", "field", self.poison.field)] if self.poison else []
        )
        named += [("enums", c, c) for c in self.enums]
        named += [("required", i, c) for i, c in enumerate(self.required or [])]
        for section, key, col in named:
            if col not in columns:
                near = suggest(col, columns)
                raise smap.error(
                    f"error_handling: table {source!r} has no column {col!r}",
                    (*loc, section, key),
                    hint=f"did you mean {near!r}?" if near else f"columns: {', '.join(columns)}",
                )
        if MalformedKind.UNKNOWN_ENUM in self.malformed and (
            generated[source].malformed.enum_field is None
        ):
            raise smap.error(
                "error_handling: unknown_enum records need an enum column",
                (*loc, "malformed", "unknown_enum"),
                hint="give `enums: {column: [values]}` or an `enum:` field in the generator",
            )
        timed = [c for c, t in columns.items() if t.upper().startswith("TIMESTAMP")]
        if MalformedKind.BAD_TIMESTAMP in self.malformed and not timed:
            raise smap.error(
                f"error_handling: table {source!r} has no TIMESTAMP column to spoil",
                (*loc, "malformed", "bad_timestamp"),
            )
        if self.routing is Routing.SQL and self.dead_letter not in tables:
            raise smap.error(
                f"error_handling: with `routing: sql`, declare the dead-letter table "
                f"{self.dead_letter!r} under `tables:` (the SQL writes it)",
                (*loc, "dead_letter")
                if "dead_letter" in self.model_fields_set
                else (*loc, "routing"),
            )


__all__ = ["DEFAULT_DLQ", "ErrorHandling", "Poison", "Routing"]

"""A spec's ``sink:`` section: a Kafka Connect JDBC sink from the test's output topic into PostgreSQL.

The connector reads the transformed topic (the output table ``output`` names), which ctt
has Flink write in Kafka Connect's JSON-with-schema envelope when ``schemas: true``, so
the connector knows each column's type. It writes into a run-scoped PostgreSQL table,
``table`` plus a suffix of the run, that ctt drops at cleanup with the connector and its
dead-letter topic. The validators ``sink_rows_match``, ``sink_no_data_loss``,
``end_to_end_latency``, ``sink_type_mapping`` and ``sink_dlq_routing`` judge the rows in
that table. Reference: docs/spec-reference.md, ``sink:``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ctt.config.durations import Duration
from ctt.config.yaml_source import Loc, SourceMap, suggest

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")

MANAGED_KEYS = frozenset(
    {
        "connector.class",
        "topics",
        "topics.regex",
        "connection.url",
        "connection.username",
        "connection.password",
        "table.name.format",
        "errors.deadletterqueue.topic.name",
    }
)
"""Connector settings ctt owns: the run-scoped topic, table and database; ``config:`` may not set them."""


class SinkMode(StrEnum):
    INSERT = "insert"  # every record is a new row
    UPSERT = "upsert"  # INSERT ... ON CONFLICT (primary key) DO UPDATE


class Nested(StrEnum):
    FLATTEN = "flatten"  # ROW fields become columns `<row>_<field>` (Kafka's Flatten SMT)
    JSON = "json"  # ROW, ARRAY and MAP columns are written as PostgreSQL json


class SinkConfig(BaseModel):
    """``sink:``: the connector ctt creates for one test, and the table it fills."""

    model_config = ConfigDict(extra="forbid")

    output: str | None = Field(
        None, description="the output table whose topic the connector reads (default: the only one)"
    )
    table: str | None = Field(
        None,
        description="target table name in PostgreSQL, lower case; ctt appends a run suffix "
        "(default: the output's name)",
    )
    mode: SinkMode = SinkMode.INSERT
    primary_key: list[str] = Field(
        default_factory=list, description="upsert: the columns of the target's primary key"
    )
    delete_on_tombstone: bool = Field(
        False, description="upsert: a tombstone (a deleted or retracted key) deletes the row"
    )
    schemas: bool = Field(
        True,
        description="JsonConverter schemas.enable: Flink writes the schema envelope, the "
        "connector reads types from it (the JDBC sink needs them)",
    )
    nested: Nested = Nested.JSON
    dead_letter_topic: bool = Field(
        False,
        description="errors.tolerance=all and a run-scoped errors.deadletterqueue.topic.name",
    )
    malformed: int = Field(
        0,
        ge=0,
        description="undecodable records ctt sends to the topic after Flink's output, which "
        "the connector must route to its dead-letter topic (needs dead_letter_topic)",
    )
    config: dict[str, str] = Field(
        default_factory=dict, description="extra connector settings, passed through as given"
    )
    timeout: Duration = Field(
        60.0, description="how long, after Flink's output is read, the target may take to catch up"
    )

    @field_validator("primary_key", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("mode", "nested", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("config", mode="before")
    @classmethod
    def _strings(cls, v: Any) -> Any:
        """Connector settings are strings in Connect's REST API: YAML's true/5 become "true"/"5"."""
        if isinstance(v, dict):
            return {
                str(k): (str(val).lower() if isinstance(val, bool) else str(val))
                for k, val in v.items()
                if val is not None
            }
        return v

    @model_validator(mode="after")
    def _coherent(self) -> SinkConfig:
        if self.table is not None and not _IDENT.match(self.table):
            raise ValueError(
                f"table {self.table!r}: use lower-case letters, digits and _ (at most 40), "
                "starting with a letter"
            )
        if self.mode is SinkMode.UPSERT and not self.primary_key:
            raise ValueError("mode upsert needs `primary_key:` (the target's key columns)")
        if self.mode is SinkMode.INSERT and self.primary_key:
            raise ValueError("primary_key is for mode upsert; mode insert appends every record")
        if self.delete_on_tombstone and self.mode is not SinkMode.UPSERT:
            raise ValueError(
                "delete_on_tombstone needs mode upsert (a delete finds the row by key)"
            )
        if self.malformed and not self.dead_letter_topic:
            raise ValueError("malformed records need `dead_letter_topic: true` to go somewhere")
        if self.timeout <= 0:
            raise ValueError("timeout must be more than 0")
        owned = sorted(MANAGED_KEYS & set(self.config))
        if owned:
            raise ValueError(
                f"config: {owned[0]!r} is set by ctt (run-scoped topic, table and database)"
            )
        return self

    def check(
        self,
        smap: SourceMap,
        loc: Loc,
        *,
        outputs: Mapping[str, Mapping[str, str] | None],
    ) -> None:
        """A ConfigError at the user's line unless ``output`` and the key columns exist.

        ``outputs``: the tables the test writes, each with its declared schema (None for a
        CTAS target ctt learns the columns of only from Flink).
        """
        name = self.output_table(outputs)
        if name is None:
            raise smap.error(
                "sink: name the output table the connector reads (`output:`)"
                if self.output is None
                else f"sink: the test writes no table {self.output!r}",
                (*loc, "output") if self.output else loc,
                hint=f"outputs: {', '.join(sorted(outputs)) or 'none'}",
            )
        columns = outputs[name]
        if columns is None:
            return
        for i, col in enumerate(self.primary_key):
            if col not in columns:
                near = suggest(col, columns)
                raise smap.error(
                    f"sink: output {name!r} has no column {col!r}",
                    (*loc, "primary_key", i)
                    if len(self.primary_key) > 1
                    else (*loc, "primary_key"),
                    hint=f"did you mean {near!r}?" if near else f"columns: {', '.join(columns)}",
                )

    def output_table(self, outputs: Mapping[str, object]) -> str | None:
        """The output this sink reads: as named, else the only one; None when neither exists."""
        if self.output is not None:
            return self.output if self.output in outputs else None
        return next(iter(outputs)) if len(outputs) == 1 else None

    def target_name(self, output: str, suffix: str) -> str:
        """The run-scoped PostgreSQL table: ``<table>_<suffix>`` (63 characters at most)."""
        base = self.table or re.sub(r"[^a-z0-9_]", "_", output.lower())[:40]
        return f"{base}_{suffix}"[:63]


__all__ = ["MANAGED_KEYS", "Nested", "SinkConfig", "SinkMode"]

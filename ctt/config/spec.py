"""The spec format: the seed's ``flink_transformation_tests:`` map, extended with what a real run needs.

Reference: docs/spec-reference.md. Every model forbids unknown keys so a typo
is an error with ``file:line`` and the nearest valid name, not a silent no-op.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ctt.config.datagen import GeneratorConfig
from ctt.config.durations import Duration, parse_duration
from ctt.config.error_handling import ErrorHandling
from ctt.config.sink import SinkConfig
from ctt.config.spec_scan import Template, kafka_key, resolve_template
from ctt.config.state import PerformanceConfig, RecoveryScenario, StateConfig
from ctt.config.yaml_source import SourceMap, load_yaml, parse_model, suggest
from ctt.errors import ConfigError

_WATERMARK = re.compile(
    r"^\s*`?(?P<col>\w+)`?\s*(?:-\s*INTERVAL\s*'(?P<num>\d+(?:\.\d+)?)'\s*(?P<unit>\w+))?\s*$",
    re.IGNORECASE,
)
_UNITS = {"millisecond": 0.001, "second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Watermark(_Strict):
    """``WATERMARK FOR column AS column - INTERVAL 'n' UNIT``."""

    column: str
    delay: Duration = 0.0

    @classmethod
    def parse(cls, text: str) -> Watermark:
        m = _WATERMARK.match(text)
        if not m:
            raise ValueError(
                f"watermark {text!r} must read like \"ts - INTERVAL '5' SECOND\" or name a column"
            )
        delay = 0.0
        if m["num"]:
            unit = m["unit"].lower().rstrip("s")
            if unit not in _UNITS:
                raise ValueError(f"unknown interval unit {m['unit']!r} in watermark")
            delay = float(m["num"]) * _UNITS[unit]
        return cls(column=m["col"], delay=delay)

    def sql(self) -> str:
        millis = round(self.delay * 1000)
        if millis == 0:
            return f"WATERMARK FOR `{self.column}` AS `{self.column}`"
        return f"WATERMARK FOR `{self.column}` AS `{self.column}` - {_interval(millis)}"


def _interval(millis: int) -> str:
    """A Flink interval literal; single fields hold at most two digits (SECOND(2))."""
    for unit, size in (("DAY", 86_400_000), ("HOUR", 3_600_000), ("MINUTE", 60_000)):
        if millis % size == 0 and millis // size < 100:
            return f"INTERVAL '{millis // size}' {unit}"
    if millis < 100_000:
        return f"INTERVAL '{millis / 1000:g}' SECOND"
    days, rest = divmod(millis, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{rest / 1000:06.3f}' DAY TO SECOND"


class TableFormat(StrEnum):
    JSON = "json"
    AVRO = "avro"
    CSV = "csv"
    RAW = "raw"


class TableDef(_Strict):
    """A source (or declared sink) table; its topic is run-scoped unless ``topic`` is given."""

    schema_: dict[str, str] = Field(
        alias="schema", description="column -> Flink SQL type, in order"
    )
    topic: str | None = None
    format: TableFormat = TableFormat.JSON
    key: list[str] = Field(default_factory=list, description="columns written as the Kafka key")
    primary_key: list[str] = Field(default_factory=list)
    watermark: Watermark | None = None
    versioned: bool = Field(False, description="changelog table for temporal joins (upsert-kafka)")
    partitions: int = Field(1, ge=1)
    options: dict[str, str] = Field(default_factory=dict, description="extra connector options")

    @field_validator("watermark", mode="before")
    @classmethod
    def _wm(cls, v: Any) -> Any:
        return Watermark.parse(v) if isinstance(v, str) else v

    @field_validator("key", "primary_key", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _consistent(self) -> TableDef:
        cols = set(self.schema_)
        for what, names in (("key", self.key), ("primary_key", self.primary_key)):
            for name in names:
                if name not in cols:
                    near = suggest(name, cols)
                    raise ValueError(
                        f"{what} column {name!r} is not in the schema"
                        + (f" (did you mean {near!r}?)" if near else "")
                    )
        if self.watermark and self.watermark.column not in cols:
            raise ValueError(f"watermark column {self.watermark.column!r} is not in the schema")
        if self.versioned and not self.primary_key:
            raise ValueError("a versioned table needs a primary_key")
        return self

    @property
    def updating(self) -> bool:
        return self.versioned or bool(self.primary_key)

    def key_columns(self) -> list[str]:
        """The columns of this table's Kafka record key (the primary key of an upsert table)."""
        return kafka_key(self.primary_key, self.key)


class TableData(_Strict):
    """Input for one table: explicit rows and/or a generator."""

    rows: list[dict[str, Any]] = Field(default_factory=list)
    generate: GeneratorConfig | None = None
    deletes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="keys to delete (tombstones) after the rows, for versioned tables",
    )


class RowOrder(StrEnum):
    UNORDERED = "unordered"
    ORDERED = "ordered"


class OutputMode(StrEnum):
    AUTO = "auto"  # append for insert-only queries, final state for updating ones
    APPEND = "append"  # every record is a row
    CHANGELOG = "changelog"  # apply +I/-U/+U/-D, compare the final state


class Expected(_Strict):
    """What one output table must hold when the run completes."""

    rows: list[dict[str, Any]] | None = None
    order: RowOrder = RowOrder.UNORDERED
    mode: OutputMode = OutputMode.AUTO
    tolerance: float = Field(1e-9, ge=0, description="absolute tolerance for floats and decimals")
    ignore_columns: list[str] = Field(default_factory=list)
    count: int | None = Field(None, ge=0, description="expected number of rows")
    key: list[str] = Field(
        default_factory=list,
        description="columns that identify a row/window (window and join checks); default: inferred",
    )
    reference_sql: str | None = Field(
        None, description="DuckDB query over the ground truth that computes the expected rows"
    )


class Completion(StrEnum):
    BOUNDED = "bounded"  # sources end at the offsets ctt produced: the job FINISHES
    QUIET = "quiet"  # unbounded sources: stop when output is quiet for quiet_period


class LateRows(StrEnum):
    AS_WRITTEN = "as_written"  # send rows in the order the spec lists them, at once
    WAIT_FOR_WATERMARK = "wait_for_watermark"  # hold a late row until Flink's watermark passed it


class TableApiProgram(_Strict):
    """A Python Table API program instead of SQL: ``function(table_env) -> Table``.

    ctt declares the spec's tables in the environment, calls the function and writes the
    Table it returns to ``output`` (the name ``expected:`` uses). docs/table-api.md.
    """

    program: str = Field(description="the program's .py file, relative to the spec")
    function: str = Field("transform", description="the function that builds the result Table")
    output: str = Field(description="the table the result is written to")


class FlinkTest(_Strict):
    """One test of the ``flink_transformation_tests`` map."""

    name: str = ""
    description: str | None = None
    flink_sql: str | None = None
    sql_template: str | None = Field(None, description="path under flink/sql/")
    table_api: TableApiProgram | None = Field(None, description="a Python Table API program")
    params: dict[str, Any] = Field(default_factory=dict)
    tables: dict[str, TableDef] = Field(default_factory=dict)
    test_data: dict[str, TableData] | list[dict[str, Any]] | None = None
    expected: dict[str, Expected] = Field(default_factory=dict)
    validation: list[dict[str, Any]] = Field(default_factory=list)
    snapshot: bool | None = Field(
        None, description="compare with a recorded snapshot; default: when its file exists"
    )
    completion: Completion = Completion.BOUNDED
    timeout: Duration = 180.0
    quiet_period: Duration = 5.0
    late_rows: LateRows | None = Field(
        None,
        description="late rows: default as_written for explicit rows, wait_for_watermark for "
        "generated data (docs/spec-reference.md)",
    )
    produce_rate: float | None = Field(
        None, gt=0, description="records/s for explicit rows (default: all at once)"
    )
    settings: dict[str, str] = Field(
        default_factory=dict, description="Flink SET options for this test"
    )
    error_handling: ErrorHandling | None = Field(
        None, description="malformed records to mix in and where they must go"
    )
    state: StateConfig | None = Field(None, description="checkpointing, backend, TTL, restarts")
    recovery: RecoveryScenario | None = Field(None, description="a fault injected mid-stream")
    performance: PerformanceConfig | None = Field(None, description="throughput, latency limits")
    sink: SinkConfig | None = Field(
        None, description="a Kafka Connect JDBC sink from the output topic into PostgreSQL"
    )
    tags: list[str] = Field(default_factory=list)
    skip: str | None = Field(None, description="skip this test, with the reason")

    @field_validator("validation", mode="before")
    @classmethod
    def _validation_items(cls, v: Any) -> Any:
        if isinstance(v, dict):  # also accept a mapping of name -> argument
            return [{k: val} for k, val in v.items()]
        if isinstance(v, list):
            for item in v:
                if not (isinstance(item, dict) and len(item) == 1) and not isinstance(item, str):
                    raise ValueError("each validation is one `name: argument` pair")
            return [item if isinstance(item, dict) else {item: True} for item in v]
        return v

    @model_validator(mode="after")
    def _sql_source(self) -> FlinkTest:
        if sum(map(bool, (self.flink_sql, self.sql_template, self.table_api))) != 1:
            raise ValueError("give exactly one of flink_sql, sql_template or table_api")
        return self

    def generated_data(self) -> dict[str, GeneratorConfig]:
        """Table -> generator, with the seed's list form applied to every source table."""
        out: dict[str, GeneratorConfig] = {}
        if isinstance(self.test_data, list):
            cfg = GeneratorConfig.from_spec(self.test_data)
            out = dict.fromkeys(self.tables, cfg)
        elif isinstance(self.test_data, dict):
            out = {t: d.generate for t, d in self.test_data.items() if d.generate is not None}
        eh, source = self.error_handling, self.error_source()
        if eh is not None and source in out:
            out[source] = eh.generator(out[source], self.tables[source].schema_)
        return out

    def error_source(self) -> str | None:
        """The table ``error_handling`` mixes bad records into: as named, else the only generated one."""
        if self.error_handling is None:
            return None
        if self.error_handling.source is not None:
            return self.error_handling.source
        if isinstance(self.test_data, dict):
            gen = [t for t, d in self.test_data.items() if d.generate is not None]
            return gen[0] if len(gen) == 1 else None
        return next(iter(self.tables), None) if isinstance(self.test_data, list) else None

    def explicit_data(self) -> dict[str, TableData]:
        if isinstance(self.test_data, dict):
            return {t: d for t, d in self.test_data.items() if d.rows or d.deletes}
        return {}


class SpecFile(_Strict):
    flink_transformation_tests: dict[str, FlinkTest]

    @model_validator(mode="before")
    @classmethod
    def _extension_keys(cls, data: Any) -> Any:
        """Top-level ``x-...`` keys hold YAML anchors shared by tests (as in compose files)."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data


class LoadedTest(BaseModel):
    """A test with where it came from, for error messages and reports."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    test: FlinkTest
    file: Path
    line: int | None
    sql_line: int | None = Field(None, description="line of flink_sql's first SQL line in the file")
    source_map: SourceMap

    @property
    def id(self) -> str:
        return f"{self.file.stem}::{self.test.name}"

    def template(self) -> Template[Path] | None:
        """The ``sql_template`` this test renders, found as selection finds it."""
        if self.test.sql_template is None:
            return None
        return resolve_template(self.test.sql_template, self.file.parent.resolve(), Path.is_dir)


Validations = Mapping[str, Callable[[Any], object]]
"""Validation name -> the parser of its argument (``ctt.validate.registry.parsers()``)."""


def load_spec(path: Path, *, validations: Validations | None = None) -> list[LoadedTest]:
    """All tests of one spec file; ConfigError (file:line) on any problem.

    With ``validations``, every ``validation:`` item must name one of them and its argument
    must parse: :func:`ctt.validate.registry.load_spec` passes the registry. The config layer
    does not import the validators (they sit above it); it only knows their names and parsers.
    """
    data, smap = load_yaml(path)
    if not isinstance(data, dict) or "flink_transformation_tests" not in data:
        near = suggest("flink_transformation_tests", data) if isinstance(data, dict) else None
        raise smap.error(
            "a spec file holds a `flink_transformation_tests:` map of tests",
            (near,) if near else (),
            hint=f"rename {near!r} to 'flink_transformation_tests'" if near else None,
        )
    spec = parse_model(SpecFile, data, smap)
    out = []
    for name, test in spec.flink_transformation_tests.items():
        test.name = name
        loc = ("flink_transformation_tests", name)
        sql_key = (*loc, "flink_sql")
        sql_line = smap.lines.get(sql_key)
        _check_references(test, smap, loc, validations)
        out.append(
            LoadedTest(
                test=test,
                file=path,
                line=smap.lines.get(loc),
                sql_line=(sql_line + 1) if sql_line else None,
                source_map=smap,
            )
        )
    return out


def _check_references(
    test: FlinkTest, smap: SourceMap, loc: tuple[str, ...], validations: Validations | None
) -> None:
    """Tables named in test_data must exist; validation names must be known (when given)."""
    if isinstance(test.test_data, dict):
        for table in test.test_data:
            if table not in test.tables:
                near = suggest(table, test.tables)
                raise smap.error(
                    f"test_data names table {table!r}, which is not in `tables`",
                    (*loc, "test_data", table),
                    hint=f"did you mean {near!r}?" if near else "declare it under `tables:`",
                )
    elif isinstance(test.test_data, list):
        GeneratorConfig.from_spec(test.test_data, smap, root=(*loc, "test_data"))
    if test.error_handling is not None:
        test.error_handling.check(
            smap,
            (*loc, "error_handling"),
            source=test.error_source(),
            generated=test.generated_data(),
            tables={n: t.schema_ for n, t in test.tables.items()},
        )
    if validations is None:
        return
    for i, item in enumerate(test.validation):
        (vname,) = item
        if vname not in validations:
            near = suggest(vname, validations)
            raise smap.error(
                f"unknown validation {vname!r}",
                (*loc, "validation", i, vname),
                hint=f"did you mean {near!r}?"
                if near
                else f"known: {', '.join(sorted(validations))}",
            )
        try:
            parsed = validations[vname](item[vname])
        except (ValueError, TypeError) as exc:
            raise smap.error(f"validation {vname}: {exc}", (*loc, "validation", i, vname)) from None
        conflict = getattr(parsed, "conflict", None)  # an argument the rest of the test defeats
        if callable(conflict) and (why := conflict(test)):
            raise smap.error(f"validation {vname}: {why}", (*loc, "validation", i, vname))


def discover(paths: list[Path]) -> list[Path]:
    """Spec files under the given files/directories (``*.yaml``/``*.yml``), sorted."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(
                q for q in p.rglob("*") if q.suffix in (".yaml", ".yml") and q.is_file()
            )
        elif p.is_file():
            found.append(p)
        else:
            raise ConfigError("no such spec file or directory", file=str(p))
    return found


__all__ = [
    "Completion",
    "Expected",
    "FlinkTest",
    "LoadedTest",
    "OutputMode",
    "RowOrder",
    "TableApiProgram",
    "TableData",
    "TableDef",
    "Validations",
    "Watermark",
    "discover",
    "load_spec",
    "parse_duration",
]

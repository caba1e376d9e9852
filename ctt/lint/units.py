"""What ``ctt lint`` reads: SQL files, and the SQL of every test of a spec with its tables and data.

A spec's SQL is rendered the way ``ctt run`` renders it (:func:`ctt.flinktest.sql_setup.sql_source`),
so a finding's position is mapped into the user's file the same way a Flink error's is: the line
inside the YAML where the SQL sits, or the template's own line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ctt.config.datagen import GeneratorConfig
from ctt.config.spec import LoadedTest, TableDef, discover, load_spec
from ctt.config.yaml_source import SourceMap
from ctt.errors import ConfigError
from ctt.flinktest.sql_setup import SqlSource, sql_source
from ctt.lint.model import Finding, Severity
from ctt.sql.lexer import line_col

__all__ = ["LintUnit", "load_units"]


@dataclass
class LintUnit:
    """One SQL text to check, with what the spec says about the tables it reads."""

    source: SqlSource
    test: str | None = None
    tables: dict[str, TableDef] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)  # table -> input events the test sends
    spec: SourceMap | None = None

    @property
    def sql(self) -> str:
        return self.source.text

    def position(self, offset: int) -> tuple[int, int]:
        """(line, col) in the user's file of ``offset`` in the SQL."""
        line, col = line_col(self.sql, offset)
        return self.source.first_line + line - 1, col + self.source.indent

    def at(
        self,
        offset: int,
        rule: str,
        severity: Severity,
        message: str,
        *,
        hint: str | None = None,
        rewrite: str | None = None,
    ) -> Finding:
        line, col = self.position(offset)
        return Finding(
            rule=rule,
            severity=severity,
            file=self.source.file,
            line=line,
            col=col,
            message=message,
            hint=hint,
            rewrite=rewrite,
            test=self.test,
        )

    def at_table(
        self, table: str, rule: str, severity: Severity, message: str, *, hint: str | None = None
    ) -> Finding:
        """A finding at a table's declaration under the spec's ``tables:``."""
        assert self.spec is not None and self.test is not None
        line, col = self.spec.position(("flink_transformation_tests", self.test, "tables", table))
        return Finding(
            rule=rule,
            severity=severity,
            file=self.spec.file,
            line=line or 1,
            col=col or 1,
            message=message,
            hint=hint,
            test=self.test,
        )


def _events(cfg: GeneratorConfig) -> int | None:
    if cfg.count is not None:
        return cfg.count
    return cfg.keys * cfg.events_per_key if cfg.events_per_key is not None else None


def _spec_unit(lt: LoadedTest) -> LintUnit | None:
    test = lt.test
    if test.flink_sql is None and test.sql_template is None:
        return None  # a Table API program: its SQL exists only once the program ran
    events: dict[str, int] = {}
    for name, data in test.explicit_data().items():
        events[name] = len(data.rows)
    for name, cfg in test.generated_data().items():
        n = _events(cfg)
        if n is not None:
            events[name] = events.get(name, 0) + n
    return LintUnit(
        source=sql_source(lt),
        test=test.name,
        tables=dict(test.tables),
        events=events,
        spec=lt.source_map,
    )


def _sql_unit(path: Path) -> LintUnit:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read SQL file: {exc}", file=str(path)) from None
    return LintUnit(
        source=SqlSource(text=text, file=str(path), first_line=1, written=text, file_text=text)
    )


def load_units(paths: list[Path]) -> tuple[list[str], list[LintUnit]]:
    """(files read, units): ``.sql`` files as they are, spec files (also under directories) per
    test. A directory yields its specs only: other ``.sql`` files there may be DuckDB reference
    queries, not Flink SQL."""
    files: list[str] = []
    units: list[LintUnit] = []
    for p in paths:
        if p.is_file() and p.suffix == ".sql":
            files.append(str(p))
            units.append(_sql_unit(p))
            continue
        if p.is_file() and p.suffix not in (".yaml", ".yml"):
            raise ConfigError("not a spec (.yaml) or SQL (.sql) file", file=str(p))
        for spec in discover([p]):
            files.append(str(spec))
            for lt in load_spec(spec):
                unit = _spec_unit(lt)
                if unit is not None:
                    units.append(unit)
    return files, units

"""A lenient reading of spec files: what each test runs and touches, even when it does not validate.

The runner validates a spec strictly (:func:`ctt.config.spec.load_spec`);
selection must still see a spec that a typo breaks, because that change is
exactly what needs testing. Both read specs through this module, so they agree
on what a spec means: which template a ``sql_template`` names
(:func:`resolve_template`), which columns key a table's Kafka records
(:func:`kafka_key`), and which topics its tables are bound to.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ctt.config.yaml_source import load_yaml
from ctt.errors import ConfigError

__all__ = [
    "SQL_ROOT",
    "ScannedTable",
    "ScannedTest",
    "SpecScan",
    "Template",
    "kafka_key",
    "resolve_template",
    "scan_data",
    "scan_spec",
    "template_name",
]

SQL_ROOT = PurePosixPath("flink", "sql")
"""Where templates live, in the spec's repository."""

P = TypeVar("P", bound=PurePath)


class Template(NamedTuple, Generic[P]):
    """A resolved ``sql_template``: the ``flink/sql`` root it loads from and its name there."""

    root: P
    name: str

    @property
    def path(self) -> P:
        return self.root / self.name


def template_name(name: str) -> str:
    """The template's name below ``flink/sql/``: ``flink/sql/x.sql`` and ``x.sql`` are one file."""
    rel = posixpath.normpath(name.replace("\\", "/").lstrip("/"))
    prefix = f"{SQL_ROOT}/"
    return rel[len(prefix) :] if rel.startswith(prefix) else rel


def resolve_template(name: str, spec_dir: P, is_dir: Callable[[P], bool]) -> Template[P] | None:
    """``flink/sql/<name>`` in the nearest ancestor of ``spec_dir`` that has ``flink/sql/``.

    The one rule for finding a template: the renderer passes real directories
    (``Path.is_dir``), selection passes the repository's file listing. None when
    no ancestor has a ``flink/sql`` directory.
    """
    for parent in (spec_dir, *spec_dir.parents):
        root: P = parent / SQL_ROOT
        if is_dir(root):
            return Template(root, template_name(name))
    return None


def kafka_key(primary_key: list[str], key: list[str]) -> list[str]:
    """The columns of a table's Kafka record key.

    A table with a primary key is written with ``upsert-kafka``, whose record key
    is the primary key; otherwise ``key`` names the key fields (plain ``kafka``).
    """
    return list(primary_key or key)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


class ScannedTable(BaseModel):
    """A table as a spec declares it, as far as it can be read."""

    model_config = ConfigDict(frozen=True)

    name: str
    topic: str | None = Field(None, description="fixed topic; None: run-scoped")
    key_columns: list[str] = Field(default_factory=list)


class ScannedTest(BaseModel):
    """One test of a spec: its SQL (inline or a template with params) and its tables."""

    model_config = ConfigDict(frozen=True)

    name: str
    flink_sql: str | None = None
    sql_template: str | None = Field(None, description="as written in the spec")
    params: dict[str, Any] = Field(default_factory=dict)
    tables: list[ScannedTable] = Field(default_factory=list)

    @property
    def topics(self) -> dict[str, str]:
        """Lower-case table name -> fixed topic, for the tables bound to one."""
        return {t.name.lower(): t.topic for t in self.tables if t.topic}

    def template(self, spec_dir: P, is_dir: Callable[[P], bool]) -> Template[P] | None:
        """The template this test renders, resolved as the runner resolves it."""
        if self.sql_template is None:
            return None
        return resolve_template(self.sql_template, spec_dir, is_dir)


def _test(name: str, node: dict[str, Any]) -> ScannedTest:
    sql, template, params = node.get("flink_sql"), node.get("sql_template"), node.get("params")
    tables: list[ScannedTable] = []
    declared = node.get("tables")
    if isinstance(declared, dict):
        for tname, tdef in declared.items():
            tdef = tdef if isinstance(tdef, dict) else {}
            topic = tdef.get("topic")
            tables.append(
                ScannedTable(
                    name=str(tname),
                    topic=topic if isinstance(topic, str) and topic else None,
                    key_columns=kafka_key(_names(tdef.get("primary_key")), _names(tdef.get("key"))),
                )
            )
    return ScannedTest(
        name=name,
        flink_sql=sql if isinstance(sql, str) else None,
        sql_template=template if isinstance(template, str) and template else None,
        params=params if isinstance(params, dict) else {},
        tables=tables,
    )


def _runs_sql(node: Any) -> bool:
    return isinstance(node, dict) and (
        isinstance(node.get("flink_sql"), str) or isinstance(node.get("sql_template"), str)
    )


def _anywhere(data: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping with ``flink_sql`` or ``sql_template``, named by the key that holds it."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        name, node = stack.pop()
        if isinstance(node, list):
            stack.extend((f"{name}[{i}]", v) for i, v in reversed(list(enumerate(node))))
        elif isinstance(node, dict):
            if _runs_sql(node):
                yield name, node
            stack.extend((str(k), v) for k, v in reversed(list(node.items())))


def scan_data(data: Any) -> list[ScannedTest]:
    """The tests of a parsed spec document, never raising.

    Tests are the entries of ``flink_transformation_tests``; when that map is
    missing or misspelt, any mapping that holds ``flink_sql`` or ``sql_template``
    counts, so lineage still sees what a broken spec runs.
    """
    tests = data.get("flink_transformation_tests") if isinstance(data, dict) else None
    if isinstance(tests, dict):
        return [_test(str(k), v) for k, v in tests.items() if isinstance(v, dict)]
    return [_test(name, node) for name, node in _anywhere(data)]


class SpecScan(BaseModel):
    """What a spec file holds, as far as it can be read; ``problem`` says why not further."""

    file: str
    tests: list[ScannedTest] = Field(default_factory=list)
    problem: str | None = Field(None, description="the YAML error that stopped the scan")


def scan_spec(path: Path | str, text: str | None = None) -> SpecScan:
    """Scan one spec file; a YAML error becomes ``problem``, never an exception."""
    try:
        data, _smap = load_yaml(path, text)
    except ConfigError as exc:
        return SpecScan(file=str(path), problem=str(exc))
    return SpecScan(file=str(path), tests=scan_data(data))

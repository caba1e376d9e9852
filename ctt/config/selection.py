"""The test selection file (``continuous-testing/config/test-selection.yaml``).

The seed's sample is accepted as written::

    test_selection:
      change_detection:
        paths:
          - path: "terraform/modules/connectors/"
            tests: ["connector_tests", "e2e_connector_flow"]
      dependencies:
        connector_tests:
          requires: ["topic_tests", "rbac_tests"]
      execution_strategy:
        parallel_limit: 5
        timeout_per_test: "30m"
        retry_failed_tests: 2

``dependencies`` and ``execution_strategy`` may also sit at the top level, beside
``test_selection`` (the seed's indentation is ambiguous). Extensions, all
optional, are documented in docs/ci-workflow.md: ``change_detection.global_paths``,
``change_detection.unmapped``, ``always_run``, ``previous_failures`` and ``lineage``.

Paths are gitignore-style patterns (a trailing ``/`` means a directory and
everything below it; ``**`` crosses directories; a pattern without a slash
matches at any depth), so users read them the way they read ``.gitignore``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from ctt.config.durations import Duration
from ctt.config.yaml_source import Loc, SourceMap, load_yaml_cached, parse_model, suggest
from ctt.errors import ConfigError

DEFAULT_SELECTION_FILE = Path("continuous-testing/config/test-selection.yaml")

DEFAULT_GLOBAL_PATHS: tuple[str, ...] = (
    "/.gitlab-ci.yml",
    "/uv.lock",
    "/pyproject.toml",
    "/continuous-testing/config/",
    "/stack/",
)
"""Changes here can affect every suite, so smart mode runs everything."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_pattern(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("a path pattern cannot be empty")
    if text.startswith("!"):
        raise ValueError("negated patterns ('!x') are not supported; list the paths to include")
    return text


class PathRule(_Strict):
    """Changes to files matching ``path`` select the suites in ``tests``."""

    path: str
    tests: list[str] = Field(min_length=1)
    description: str | None = None

    @field_validator("path")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _check_pattern(value)


class Unmapped(StrEnum):
    """What smart mode does with a changed file that no rule, suite or lineage covers."""

    IGNORE = "ignore"  # nothing: docs, READMEs
    WARN = "warn"  # list it in the plan and print a warning
    ALL = "all"  # run every suite: strictest, never misses


class ChangeDetection(_Strict):
    paths: list[PathRule] = Field(default_factory=list)
    global_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_GLOBAL_PATHS))
    unmapped: Unmapped = Unmapped.WARN

    @field_validator("global_paths")
    @classmethod
    def _globals(cls, value: list[str]) -> list[str]:
        return [_check_pattern(v) for v in value]


class Dependency(_Strict):
    """``requires``: suites that must run (and pass first) whenever this one runs."""

    requires: list[str] = Field(default_factory=list)


class ExecutionStrategy(_Strict):
    parallel_limit: int = Field(5, ge=1)
    timeout_per_test: Duration = 1800.0
    retry_failed_tests: int = Field(0, ge=0)
    default_duration: Duration = Field(
        300.0, description="estimate for a suite with no history and no timeout"
    )


class Lineage(_Strict):
    """Where lineage is read from: Flink SQL templates, Flink specs, Terraform modules, Python."""

    enabled: bool = True
    sql: list[str] = Field(default_factory=lambda: ["*.sql"])
    specs: list[str] = Field(default_factory=lambda: ["/specs/**/*.yaml", "/specs/**/*.yml"])
    terraform: list[str] = Field(default_factory=lambda: ["*.tf", "*.tftest.hcl"])
    python: list[str] = Field(
        default_factory=lambda: ["*.py"],
        description="Python files whose imports are followed (a changed module selects the "
        "suites whose tests import it)",
    )


class TestSelection(_Strict):
    __test__ = False  # not a pytest class

    change_detection: ChangeDetection = Field(default_factory=ChangeDetection)
    dependencies: dict[str, Dependency] = Field(default_factory=dict)
    execution_strategy: ExecutionStrategy = Field(default_factory=ExecutionStrategy)
    always_run: list[str] = Field(default_factory=list)
    previous_failures: bool = Field(
        True, description="smart mode reruns suites that failed in the last recorded run"
    )
    lineage: Lineage = Field(default_factory=Lineage)


class SelectionConfig(_Strict):
    """The whole file. Remembers its source so later checks can point at lines."""

    test_selection: TestSelection = Field(default_factory=TestSelection)
    _source: SourceMap | None = PrivateAttr(default=None)

    @property
    def file(self) -> str | None:
        return self._source.file if self._source else None

    def line_of(self, *loc: str | int) -> int | None:
        return self._source.line_of(("test_selection", *loc)) if self._source else None

    def error(self, message: str, *loc: str | int, hint: str | None = None) -> ConfigError:
        """A ConfigError at ``loc`` inside ``test_selection``, with file:line:col and snippet."""
        if self._source is None:
            return ConfigError(message, hint=hint)
        return self._source.error(message, ("test_selection", *loc), hint=hint)

    def suite_references(self) -> Iterable[tuple[str, Loc]]:
        """Every suite name the file mentions, with where it is written."""
        ts = self.test_selection
        for i, rule in enumerate(ts.change_detection.paths):
            for j, name in enumerate(rule.tests):
                yield name, ("change_detection", "paths", i, "tests", j)
        for name, dep in ts.dependencies.items():
            yield name, ("dependencies", name)
            for j, req in enumerate(dep.requires):
                yield req, ("dependencies", name, "requires", j)
        for j, name in enumerate(ts.always_run):
            yield name, ("always_run", j)

    def check_suite_names(self, known: Iterable[str]) -> None:
        """Raise for the first suite name that the catalogue does not define."""
        names = set(known)
        for name, loc in self.suite_references():
            if name not in names:
                near = suggest(name, names)
                hint = f"did you mean {near!r}?" if near else "add it to suites.yaml"
                raise self.error(f"unknown suite {name!r}", *loc, hint=hint)


_HOISTED = ("dependencies", "execution_strategy", "always_run", "previous_failures", "lineage")


def _hoist(data: Any, smap: SourceMap) -> Any:
    """Move top-level siblings of ``test_selection`` inside it (the seed's flat layout)."""
    if not isinstance(data, dict):
        return data
    inner = data.get("test_selection")
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        return data
    out = {k: v for k, v in data.items() if k not in _HOISTED}
    merged = dict(inner)
    for key in _HOISTED:
        if key not in data:
            continue
        if key in inner:
            raise smap.error(
                f"{key!r} is given both at the top level and under 'test_selection'",
                (key,),
                hint="keep one",
            )
        merged[key] = data[key]
        smap.copy_subtree((key,), ("test_selection", key))
    out["test_selection"] = merged
    return out


def parse_selection(data: Any, smap: SourceMap) -> SelectionConfig:
    if data is None:
        data = {}
    config = parse_model(SelectionConfig, _hoist(data, smap), smap)
    config._source = smap
    return config


def load_selection(
    path: Path | str = DEFAULT_SELECTION_FILE, *, cache_dir: Path | None = None
) -> SelectionConfig:
    """Load and validate the selection file; errors carry file:line (``cache_dir``: reuse the parse)."""
    data, smap = load_yaml_cached(path, cache_dir)
    return parse_selection(data, smap)

"""``test-metrics.json``: the machine-readable outcome of a run, read by ``ctt gate`` and dashboards.

The schema is documented in docs/ci-workflow.md ("test-metrics.json"); bump
``SCHEMA_VERSION`` on any incompatible change.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ctt.report.performance import PerformanceReport
from ctt.report.results import RunMeta, SuiteSummary

__all__ = [
    "SCHEMA_VERSION",
    "AccuracyValue",
    "FailureEntry",
    "FlakyEntry",
    "NewFailures",
    "PerformanceEntry",
    "RestartEntry",
    "TestMetrics",
    "Totals",
    "TrendPoint",
    "load_metrics",
    "write_metrics",
]

SCHEMA_VERSION = 1


class Totals(BaseModel):
    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0
    pass_rate: float = Field(1.0, description="passed / (tests - skipped); 1.0 when nothing ran")
    flaky_share: float = Field(0.0, description="flaky / (tests - skipped)")
    serial_seconds: float = 0.0
    wall_seconds: float | None = None


class FailureEntry(BaseModel):
    suite: str
    test: str
    status: str
    message: str | None = None
    details: str | None = Field(None, description="diff or trace, cut to 4 KiB")
    attempts: int = 1


class FlakyEntry(BaseModel):
    suite: str
    test: str
    attempts: int = Field(description="attempts in this run (0 = not flaky in this run)")
    history_runs: int = 0
    history_pass_rate: float | None = None
    history_flips: int = 0
    flakiness: float | None = None


class NewFailures(BaseModel):
    target_branch: str | None
    baseline_run: str | None = Field(None, description="run key compared with; None = no baseline")
    tests: list[str] = Field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.tests)


class AccuracyValue(BaseModel):
    suite: str
    test: str | None = None
    value: float = Field(description="share in [0, 1]")


class PerformanceEntry(BaseModel):
    suite: str
    duration: float
    baseline_median: float
    baseline_runs: int
    change: float = Field(description="relative change: 0.25 = 25% slower than the median")


class TrendPoint(BaseModel):
    run_key: str
    created_at: datetime
    branch: str | None
    commit: str | None
    tests: int
    pass_rate: float
    flaky_share: float
    serial_seconds: float
    wall_seconds: float | None


DEAD_LETTERS_KEY = "ctt.dead_letters"
"""JUnit testcase property: the test's dead-letter rows as JSON (cut to fit _DEAD_LETTERS_MAX)."""
_DEAD_LETTERS_MAX = 16_384


class DeadLetterEntry(BaseModel):
    """One test's dead-letter rows as the HTML report lists them."""

    suite: str
    test: str
    rows: list[dict[str, Any]] = Field(default_factory=list)
    cut: bool = Field(False, description="more rows than the property could carry")


def dead_letters_property(rows: list[dict[str, Any]]) -> str:
    """``rows`` as JSON for a JUnit property, the last rows dropped until it fits."""
    shown = list(rows)
    while True:
        text = json.dumps({"rows": shown, "cut": len(shown) < len(rows)}, default=str)
        if len(text) <= _DEAD_LETTERS_MAX or not shown:
            return text
        shown = shown[: len(shown) // 2]


def parse_dead_letters(suite: str, test: str, text: str) -> DeadLetterEntry | None:
    """The entry a property holds; None when it is not ctt's JSON (a foreign JUnit file)."""
    try:
        data = json.loads(text)
        return DeadLetterEntry(suite=suite, test=test, rows=data["rows"], cut=bool(data["cut"]))
    except (ValueError, KeyError, TypeError):
        return None


class RestartEntry(BaseModel):
    """One test whose job restarted (``job_survives`` budget, or a recovery scenario)."""

    suite: str
    test: str
    restarts: int = 0
    recovery_s: list[float | None] = Field(
        default_factory=list, description="time to recover per restart; None: not measured"
    )
    scenario: str | None = Field(None, description="the recovery scenario, if any")


def restart_entry(suite: str, test: str, props: dict[str, str]) -> RestartEntry | None:
    """What a testcase's properties say about restarts (``ctt.flinktest.reporting`` writes them);
    None when the job never restarted and ran no recovery scenario."""
    if not props:  # most cases: nothing to read
        return None

    def num(key: str) -> float | None:
        try:
            return float(props[key])
        except (KeyError, ValueError):
            return None

    timed: list[float | None] = []
    i = 1
    while f"restart_{i}_recovery_s" in props:
        timed.append(num(f"restart_{i}_recovery_s"))
        i += 1
    scenario = props.get("recovery_scenario")
    if scenario is not None and not timed and num("recovery_seconds") is not None:
        timed = [num("recovery_seconds")]
    restarts = int(num("metric.restarts") or num("recovery_restarts") or len(timed))
    if not restarts and scenario is None:
        return None
    return RestartEntry(
        suite=suite, test=test, restarts=restarts, recovery_s=timed, scenario=scenario
    )


class TestMetrics(BaseModel):
    """Everything a gate or a dashboard needs about one run."""

    __test__ = False

    schema_version: int = SCHEMA_VERSION
    generated_at: datetime
    run: RunMeta
    totals: Totals
    suites: list[SuiteSummary]
    planned_suites: list[str] = Field(default_factory=list)
    missing_suites: list[str] = Field(
        default_factory=list, description="planned but no result found: counted as errors"
    )
    failures: list[FailureEntry] = Field(default_factory=list)
    failures_truncated: bool = False
    new_failures: NewFailures
    flaky_tests: list[FlakyEntry] = Field(default_factory=list)
    streaming_data_accuracy: list[AccuracyValue] = Field(default_factory=list)
    performance: list[PerformanceEntry] = Field(default_factory=list)
    performance_checks: PerformanceReport | None = Field(
        None,
        description="each test's metrics vs the median of its recent passing runs (history only)",
    )
    trend: list[TrendPoint] = Field(default_factory=list)
    dead_letters: list[DeadLetterEntry] = Field(
        default_factory=list, description="each test's dead-letter rows (error_handling tests)"
    )
    restarts: list[RestartEntry] = Field(
        default_factory=list, description="tests whose job restarted, with time to recover"
    )
    problems: list[str] = Field(default_factory=list)
    history: str | None = Field(None, description="history store used (password hidden)")


def write_metrics(metrics: TestMetrics, path: Path | str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(metrics.model_dump_json(indent=2), encoding="utf-8")
    return target


def load_metrics(path: Path | str) -> TestMetrics:
    """Read a metrics file; errors surface as ConfigError with the file name."""
    from pydantic import ValidationError

    from ctt.errors import ConfigError

    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "metrics file not found", file=name, hint="run `ctt aggregate` first"
        ) from None
    try:
        return TestMetrics.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "document"
        raise ConfigError(f"{loc}: {first['msg']}", file=name) from None

"""Reporters hang off the run's lifecycle: terminal progress, JUnit XML, results JSON.

The runner knows nothing of them; it calls a listener with (test, phase) and
returns a serialisable :class:`RunReport`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from ctt.console import Output
from ctt.flinktest.results import RunReport, TestResult
from ctt.report.junit import TestCaseResult, TestSuiteResult, write_junit
from ctt.report.metrics import DEAD_LETTERS_KEY, dead_letters_property
from ctt.report.model import Status
from ctt.report.performance import ENGINE_PROPERTY

_STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "red",
    Status.ERROR: "bold red",
    Status.SKIPPED: "yellow",
}


class TerminalReporter:
    """A spinner per running test in a terminal; one plain line per finished test everywhere."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._progress: Progress | None = None
        if out.live:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=out.out,
                transient=True,
            )

    def __enter__(self) -> TerminalReporter:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._progress:
            self._progress.stop()

    def phase(self, test: str, text: str) -> None:
        if self._progress is None:
            return
        with self._lock:
            if text in {s.value for s in Status}:
                task = self._tasks.pop(test, None)
                if task is not None:
                    self._progress.remove_task(task)
                return
            if test not in self._tasks:
                self._tasks[test] = self._progress.add_task(escape(f"{test}: {text}"))
            else:
                self._progress.update(self._tasks[test], description=escape(f"{test}: {text}"))

    def finished(self, result: TestResult) -> None:
        style = _STYLE[result.status]
        line = f"[{style}]{result.status.value.upper():7}[/{style}] {escape(result.id)} ({result.duration_s:.1f}s)"
        with self._lock:
            self.out.info(line)
            for warning in result.warnings:
                self.out.info(f"        [yellow]warning:[/yellow] {escape(warning)}")
            if result.status in (Status.FAILED, Status.ERROR) and result.message:
                self.out.info(f"        {escape(result.message)}")
                for line in (result.snippet or "").splitlines():
                    self.out.info(f"        {escape(line)}")
                for o in result.outcomes:
                    if not o.passed and o.details:
                        for detail in o.details.splitlines()[:25]:
                            self.out.info(f"          {escape(detail)}")

    def summary(self, report: RunReport) -> None:
        s = report.summary
        parts = [f"{s.passed} passed", f"{s.failed} failed"]
        if s.errors:
            parts.append(f"{s.errors} errors")
        if s.skipped:
            parts.append(f"{s.skipped} skipped")
        self.out.info(f"{', '.join(parts)} in {report.duration_s:.1f}s (run {report.run_id})")
        if report.slots is not None:
            self.out.info(report.slots.line())


def to_junit(report: RunReport) -> list[TestSuiteResult]:
    """One testsuite per spec file, one testcase per test, failures carrying the diff."""
    suites: dict[str, TestSuiteResult] = {}
    for t in report.tests:
        stem = Path(t.file).stem
        suite = suites.setdefault(stem, TestSuiteResult(name=stem, timestamp=report.started_at))
        details = "\n\n".join(
            f"{o.name}: {o.summary}\n{o.details}" for o in t.outcomes if not o.passed and o.details
        )
        out_lines = [
            f"{'PASS' if o.passed else 'FAIL'} {o.name}: {o.summary}" for o in t.outcomes
        ] + t.log
        props = {k: v for o in t.outcomes for k, v in o.properties.items()}
        props.update({f"metric.{k}": str(v) for k, v in t.metrics.items() if v is not None})
        props.update({"run_id": report.run_id, **({"job_id": t.job_id} if t.job_id else {})})
        props[ENGINE_PROPERTY] = report.engine
        if t.dead_letters is not None:
            props[DEAD_LETTERS_KEY] = dead_letters_property(t.dead_letters)
        suite.cases.append(
            TestCaseResult(
                name=t.name,
                classname=stem,
                file=t.file,
                time=round(t.duration_s, 3),
                status=t.status,
                message=t.message,
                details=details or "\n".join(filter(None, (t.message, t.snippet))) or None,
                system_out="\n".join(out_lines),
                properties=props,
            )
        )
        suite.time += t.duration_s
    return list(suites.values())


def write_reports(report: RunReport, *, junit: Path | None, results: Path | None) -> None:
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        write_junit(to_junit(report), junit)
    if results is not None:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(report.model_dump_json(indent=2))

"""Run suites as real processes: parallel, in dependency order, within pools, with timeouts and retries.

Every suite kind is a subprocess that leaves a JUnit file behind:

* ``flink``     -> ``python -m ctt run PATH --junit J --results R`` (the one Flink test runner)
* ``terraform`` -> ``terraform init`` + ``terraform test -junit-xml=J`` in the module directory
* ``command``   -> ``sh -c COMMAND`` with ``$CTT_JUNIT_PATH`` (and ``$CTT_RESULTS_PATH``) set

Each process gets its own session (process group), so a timeout, ``--fail-fast``
or Ctrl-C kills everything it started (SIGTERM, a grace period, then SIGKILL).
Retries re-run the suite; every attempt of every test is kept, and a test that
passes only on a later attempt is marked flaky rather than hidden. A suite that
leaves no readable result is an *error*, never a pass.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue as stdqueue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, computed_field

from ctt.ci.queue import SuiteQueue
from ctt.config.suites import Suite, SuiteCatalogue, SuiteKind
from ctt.report.junit import (
    Attempt,
    TestCaseResult,
    TestSuiteResult,
    read_junit,
    write_junit,
)
from ctt.report.model import ErrorKind, RunSummary, Status

__all__ = [
    "SUITE_CASE",
    "ExecOptions",
    "ExecutionReport",
    "SuiteAttempt",
    "SuiteRunResult",
    "execute",
    "junit_path",
    "merge_attempts",
    "results_path",
]

SUITE_CASE = "(suite)"
"""Name of the synthetic test case that carries a suite-level error (timeout, crash, no JUnit)."""

KILL_GRACE_SECONDS = 10.0
"""Time a suite gets after SIGTERM to clean up (stop Flink statements, delete topics)."""


class SuiteAttempt(BaseModel):
    """One process run of a suite."""

    number: int
    started: datetime
    duration: float
    exit_code: int | None = None
    timed_out: bool = False
    cancelled: bool = False
    status: Status
    log: str | None = None
    problems: list[str] = Field(default_factory=list)


class SuiteRunResult(BaseModel):
    """Everything known about one suite of one run; written as ``results-<suite>.json``."""

    name: str
    kind: str
    status: Status
    reason: str | None = None
    started: datetime | None = None
    duration: float = 0.0
    expected_seconds: float | None = None
    resources: dict[str, float] = Field(default_factory=dict)
    attempts: list[SuiteAttempt] = Field(default_factory=list)
    junit: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    problems: list[str] = Field(default_factory=list)
    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0

    @property
    def error_kind(self) -> ErrorKind | None:
        """Suites do not tell a broken stack from a broken test: an error is a failure (exit 1)."""
        return None

    @property
    def summary(self) -> RunSummary:
        return RunSummary.from_counts(self)


class ExecutionReport(BaseModel):
    """One ``ctt run --plan``/``--suite`` invocation; written as ``run-summary.json``."""

    started: datetime
    wall_seconds: float
    parallel_limit: int
    fail_fast: bool = False
    interrupted: bool = False
    suites: list[SuiteRunResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.interrupted and all(s.status is Status.PASSED for s in self.suites)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def serial_seconds(self) -> float:
        return sum(s.duration for s in self.suites)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> RunSummary:
        """Test counts over every suite: the same summary a Flink run and JUnit give."""
        return sum((s.summary for s in self.suites), RunSummary())


class ExecOptions(BaseModel):
    parallel_limit: int = Field(4, ge=1)
    timeout: float | None = Field(None, gt=0, description="seconds per suite attempt")
    retries: int = Field(0, ge=0)
    fail_fast: bool = False
    results_dir: Path = Path("test-results")
    logs_dir: Path = Path("logs")
    cwd: Path = Path()
    kill_grace: float = KILL_GRACE_SECONDS


class Progress(Protocol):
    """Lifecycle hooks for live output; the executor knows nothing about terminals."""

    def started(self, name: str, attempt: int) -> None: ...
    def finished(self, result: SuiteRunResult) -> None: ...
    def tick(self) -> None: ...


class _NoProgress:
    def started(self, name: str, attempt: int) -> None:
        pass

    def finished(self, result: SuiteRunResult) -> None:
        pass

    def tick(self) -> None:
        pass


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name) or "suite"


def junit_path(results_dir: Path, suite: str) -> Path:
    return results_dir / f"junit-{_safe(suite)}.xml"


def results_path(results_dir: Path, suite: str) -> Path:
    return results_dir / f"results-{_safe(suite)}.json"


# --- one attempt ---------------------------------------------------------------------------


def _command(suite: Suite, junit: Path, results: Path) -> tuple[list[str], Path | None]:
    """argv and working directory (None = the run's cwd) for one attempt."""
    if suite.kind is SuiteKind.FLINK:
        assert suite.path is not None
        argv = [sys.executable, "-m", "ctt", "run", suite.path]
        return [*argv, "--junit", str(junit), "--results", str(results)], None
    if suite.kind is SuiteKind.TERRAFORM:
        script = (
            "terraform init -input=false -backend=false -no-color >&2 && "
            f"terraform test -no-color -junit-xml={shlex.quote(str(junit))}"
        )
        return ["/bin/sh", "-c", script], Path(suite.path or ".")
    assert suite.command is not None
    return ["/bin/sh", "-c", suite.command], Path(suite.path) if suite.path else None


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left after ``grace``."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure stragglers in its group are too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return


def _error_case(suite: str, message: str, details: str | None = None) -> TestCaseResult:
    return TestCaseResult(
        name=SUITE_CASE, classname=suite, status=Status.ERROR, message=message, details=details
    )


def _tail(path: Path, limit: int = 4000) -> str | None:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(size - limit, 0))
            text = fh.read().decode("utf-8", "replace").strip()
    except OSError:
        return None
    return text or None


def _read_metrics(path: Path, problems: list[str]) -> dict[str, float]:
    """Numbers from a runner's results JSON: its ``metrics`` object, or top-level numbers."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: results JSON unreadable: {exc}")
        return {}
    if not isinstance(data, dict):
        return {}
    source = data.get("metrics") if isinstance(data.get("metrics"), dict) else data
    assert isinstance(source, dict)
    return {
        str(k): float(v)
        for k, v in source.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


class _AttemptOutcome(BaseModel):
    attempt: SuiteAttempt
    cases: list[TestCaseResult]
    metrics: dict[str, float]


class _AttemptFiles(BaseModel):
    """Where one attempt runs and what it leaves: its command, JUnit, results JSON and log."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    junit: Path
    results: Path
    log: Path

    def junit_file(self, suite: Suite) -> Path:
        """The JUnit file to read: ours, else a command suite's own fixed ``junit`` path."""
        if suite.kind is SuiteKind.COMMAND and suite.junit and not self.junit.exists():
            fixed = Path(suite.junit)
            return fixed if fixed.is_absolute() else (self.cwd / fixed)
        return self.junit


class _Ending(BaseModel):
    """How the process of an attempt ended."""

    exit_code: int | None = None
    timed_out: bool = False
    cancelled: bool = False


def _run_attempt(
    suite: Suite,
    number: int,
    opts: ExecOptions,
    timeout: float | None,
    cancel: threading.Event,
    on_spawn: Callable[[subprocess.Popen[bytes]], None],
) -> _AttemptOutcome:
    """One process run of a suite, from spawn to its cases and verdict."""
    files = _attempt_files(suite, number, opts)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    with open(files.log, "wb") as logfh:
        try:
            _check_startable(suite, files)
            proc = subprocess.Popen(
                files.argv,
                cwd=files.cwd,
                env=files.env,
                stdin=subprocess.DEVNULL,
                stdout=logfh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            attempt = SuiteAttempt(
                number=number,
                started=started,
                duration=time.monotonic() - t0,
                status=Status.ERROR,
                log=str(files.log),
                problems=[f"cannot start: {exc}"],
            )
            message = f"suite {suite.name!r} cannot start: {exc.strerror or exc}"
            return _AttemptOutcome(
                attempt=attempt, cases=[_error_case(suite.name, message)], metrics={}
            )
        on_spawn(proc)
        ending = _wait(proc, t0 + timeout if timeout else None, cancel, opts.kill_grace)
    duration = time.monotonic() - t0
    problems: list[str] = []
    cases = _attempt_cases(suite, files, ending, timeout, problems)
    metrics = _read_metrics(files.results, problems)
    attempt = SuiteAttempt(
        number=number,
        started=started,
        duration=duration,
        status=_status_of(cases),
        log=str(files.log),
        problems=problems,
        **ending.model_dump(),
    )
    return _AttemptOutcome(attempt=attempt, cases=cases, metrics=metrics)


def _check_startable(suite: Suite, files: _AttemptFiles) -> None:
    """Raise an OSError that says why the suite cannot start, before ``Popen`` says it wrongly.

    ``Popen`` reports a missing working directory as the program missing
    ("cannot start /bin/sh"), which sends the reader to the wrong place.
    """
    if not files.cwd.is_dir():
        what = "module directory" if suite.kind is SuiteKind.TERRAFORM else "directory"
        raise FileNotFoundError(
            errno.ENOENT, f"its {what} {suite.path or files.cwd} does not exist ({files.cwd})"
        )
    if (
        suite.kind is SuiteKind.TERRAFORM
        and shutil.which("terraform", path=files.env.get("PATH")) is None
    ):
        raise FileNotFoundError(errno.ENOENT, "terraform is not on PATH")


def _attempt_files(suite: Suite, number: int, opts: ExecOptions) -> _AttemptFiles:
    """Fresh paths for an attempt (stale results of an earlier run removed), argv and env."""
    work = opts.results_dir / ".attempts" / _safe(suite.name)
    work.mkdir(parents=True, exist_ok=True)
    junit = (work / f"junit-{number}.xml").resolve()
    results = (work / f"results-{number}.json").resolve()
    for stale in (junit, results):
        stale.unlink(missing_ok=True)
    if suite.kind is SuiteKind.COMMAND and suite.junit:
        fixed = Path(suite.junit)
        fixed = fixed if fixed.is_absolute() else (opts.cwd / (suite.path or ".") / fixed)
        fixed.unlink(missing_ok=True)
    opts.logs_dir.mkdir(parents=True, exist_ok=True)
    argv, rel_cwd = _command(suite, junit, results)
    env = {
        **os.environ,
        **suite.env,
        "CTT_JUNIT_PATH": str(junit),
        "CTT_RESULTS_PATH": str(results),
        "CTT_SUITE": suite.name,
        "CTT_ATTEMPT": str(number),
    }
    return _AttemptFiles(
        argv=argv,
        cwd=(opts.cwd / rel_cwd) if rel_cwd else opts.cwd,
        env=env,
        junit=junit,
        results=results,
        log=opts.logs_dir / f"{_safe(suite.name)}.attempt-{number}.log",
    )


def _wait(
    proc: subprocess.Popen[bytes], deadline: float | None, cancel: threading.Event, grace: float
) -> _Ending:
    """Wait for the process, killing its group at the deadline or when cancelled."""
    ending = _Ending()
    while True:
        step = 0.2 if deadline is None else max(min(0.2, deadline - time.monotonic()), 0.0)
        try:
            ending.exit_code = proc.wait(timeout=step)
            break
        except subprocess.TimeoutExpired:
            pass
        if cancel.is_set():
            ending.cancelled = True
        elif deadline is not None and time.monotonic() >= deadline:
            ending.timed_out = True
        else:
            continue
        _kill_group(proc, grace)
        ending.exit_code = proc.returncode
        break
    # A group leader that exited normally may leave children behind; they go too.
    if not (ending.timed_out or ending.cancelled):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    return ending


def _attempt_cases(
    suite: Suite, files: _AttemptFiles, ending: _Ending, timeout: float | None, problems: list[str]
) -> list[TestCaseResult]:
    """The JUnit cases an attempt left, plus an error case for any way it ended badly."""
    junit_file = files.junit_file(suite)
    cases: list[TestCaseResult] = []
    if junit_file.exists():
        read = read_junit(junit_file)
        problems.extend(str(p) for p in read.problems)
        for s in read.suites:
            cases.extend(s.cases)
    why = _why_error(suite.name, ending, timeout, junit_file.exists(), cases, files.log)
    if why is not None:
        cases.append(_error_case(suite.name, why, _tail(files.log)))
    return cases


_PYTEST_NO_TESTS = 5
"""pytest's exit code when it collected no test: a suite that selects nothing is an error."""


def _why_error(
    suite: str,
    ending: _Ending,
    timeout: float | None,
    has_junit: bool,
    cases: list[TestCaseResult],
    log: Path,
) -> str | None:
    """Why an attempt is an error although its cases may not say so; None when they speak."""
    code = ending.exit_code
    if ending.timed_out:
        return f"timed out after {timeout:g}s; the process group was killed"
    if ending.cancelled:
        return "cancelled; the process group was killed"
    if not has_junit:
        return f"no JUnit result written (exit code {code}); see {log}"
    if not cases:
        if code == _PYTEST_NO_TESTS:
            return (
                f"suite {suite!r} selected no test (exit code 5: pytest collected nothing); "
                "check the paths and -k/-m filters of its command in suites.yaml"
            )
        return f"JUnit result holds no test cases (exit code {code})"
    if code != 0 and all(c.status in (Status.PASSED, Status.SKIPPED) for c in cases):
        return f"process exited with code {code} although no test failed"
    return None


def _status_of(cases: list[TestCaseResult]) -> Status:
    if any(c.status is Status.ERROR for c in cases):
        return Status.ERROR
    if any(c.status is Status.FAILED for c in cases):
        return Status.FAILED
    return Status.PASSED


def _as_attempt(case: TestCaseResult) -> Attempt:
    return Attempt.model_validate(case, from_attributes=True)


def merge_attempts(attempts: list[list[TestCaseResult]]) -> list[TestCaseResult]:
    """Fold the cases of several suite attempts into one case per test.

    A test's attempts end at its first pass (later re-runs of a test that had
    already passed are collateral, not attempts of it). The synthetic suite
    case counts as passed in an attempt that did not produce it.
    """
    runs: dict[str, list[TestCaseResult]] = {}
    passed: set[str] = set()
    for i, cases in enumerate(attempts):
        present = set()
        for case in cases:
            key = case.key
            present.add(key)
            if key in passed:
                continue
            runs.setdefault(key, []).append(case)
            if case.status is Status.PASSED:
                passed.add(key)
        if i > 0:
            for key, seq in runs.items():
                if key not in present and key not in passed and seq[-1].name == SUITE_CASE:
                    seq.append(
                        seq[-1].model_copy(
                            update={"status": Status.PASSED, "message": None, "details": None}
                        )
                    )
                    passed.add(key)
    merged: list[TestCaseResult] = []
    for seq in runs.values():
        last = seq[-1]
        if len(seq) == 1:
            merged.append(last)
            continue
        merged.append(
            TestCaseResult.from_attempts(
                last.name,
                [_as_attempt(c) for c in seq],
                classname=last.classname,
                file=last.file,
                system_err=last.system_err,
                properties=last.properties,
            )
        )
    return merged


# --- one suite -----------------------------------------------------------------------------


def _finish(
    name: str,
    kind: str,
    cases: list[TestCaseResult],
    opts: ExecOptions,
    *,
    status: Status | None = None,
    reason: str | None = None,
    attempts: list[SuiteAttempt] | None = None,
    metrics: dict[str, float] | None = None,
    expected: float | None = None,
    resources: Mapping[str, float] | None = None,
) -> SuiteRunResult:
    """Write ``junit-<suite>.xml`` and ``results-<suite>.json``; return the result."""
    attempts = attempts or []
    started = attempts[0].started if attempts else datetime.now(UTC)
    duration = sum(a.duration for a in attempts)
    junit = junit_path(opts.results_dir, name)
    suite_result = TestSuiteResult(
        name=name,
        cases=cases,
        time=duration,
        timestamp=started,
        properties={"ctt.kind": kind, "ctt.attempts": str(len(attempts))}
        | {f"ctt.metric.{k}": repr(v) for k, v in (metrics or {}).items()},
    )
    write_junit([suite_result], junit)
    result = SuiteRunResult(
        name=name,
        kind=kind,
        status=status or _status_of(cases),
        reason=reason,
        started=started if attempts else None,
        duration=duration,
        expected_seconds=expected,
        resources=dict(resources or {}),
        attempts=attempts,
        junit=str(junit),
        metrics=metrics or {},
        problems=[p for a in attempts for p in a.problems],
        **suite_result.summary.counts(),
    )
    path = results_path(opts.results_dir, name)
    path.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def _run_suite(
    suite: Suite,
    opts: ExecOptions,
    timeout: float | None,
    expected: float | None,
    cancel: threading.Event,
    progress: Progress,
    on_spawn: Callable[[subprocess.Popen[bytes]], None],
) -> SuiteRunResult:
    outcomes: list[_AttemptOutcome] = []
    for number in range(1, opts.retries + 2):
        progress.started(suite.name, number)
        outcome = _run_attempt(suite, number, opts, timeout, cancel, on_spawn)
        outcomes.append(outcome)
        if outcome.attempt.status is Status.PASSED or outcome.attempt.cancelled:
            break
        if cancel.is_set():
            break
    cases = merge_attempts([o.cases for o in outcomes])
    metrics: dict[str, float] = {}
    for o in outcomes:
        metrics.update(o.metrics)
    reason = "cancelled" if outcomes[-1].attempt.cancelled else None
    return _finish(
        suite.name,
        suite.kind.value,
        cases,
        opts,
        reason=reason,
        attempts=[o.attempt for o in outcomes],
        metrics=metrics,
        expected=expected,
        resources=suite.resources,
    )


def _skipped(name: str, kind: str, reason: str, opts: ExecOptions) -> SuiteRunResult:
    case = TestCaseResult(
        name=SUITE_CASE, classname=name, status=Status.SKIPPED, message=f"not run: {reason}"
    )
    return _finish(name, kind, [case], opts, status=Status.SKIPPED, reason=reason)


# --- many suites ---------------------------------------------------------------------------


def execute(
    names: list[str],
    catalogue: SuiteCatalogue,
    opts: ExecOptions,
    *,
    deps: Mapping[str, list[str]] | None = None,
    expected: Mapping[str, float] | None = None,
    plan_timeout: float | None = None,
    progress: Progress | None = None,
) -> ExecutionReport:
    """Run ``names`` and return one result per name, always (never a silent gap).

    Raises ``KeyboardInterrupt`` again after cleaning up when interrupted, with
    results of everything that finished already written.
    """
    opts.results_dir.mkdir(parents=True, exist_ok=True)
    run = _Execution(
        names, catalogue, opts, dict(expected or {}), plan_timeout, progress or _NoProgress()
    )
    run.start(deps)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    interrupted = False
    try:
        run.loop()
    except KeyboardInterrupt:
        interrupted = True
        run.interrupt()
    run.fill_gaps()
    summary = ExecutionReport(
        started=started,
        wall_seconds=time.monotonic() - t0,
        parallel_limit=opts.parallel_limit,
        fail_fast=opts.fail_fast,
        interrupted=interrupted,
        suites=[run.results[n] for n in names],
    )
    (opts.results_dir / "run-summary.json").write_text(
        summary.model_dump_json(indent=2), encoding="utf-8"
    )
    if interrupted:
        raise KeyboardInterrupt
    return summary


class _Execution:
    """The state one :func:`execute` shares between its worker threads, its queue and Ctrl-C."""

    def __init__(
        self,
        names: list[str],
        catalogue: SuiteCatalogue,
        opts: ExecOptions,
        expected: dict[str, float],
        plan_timeout: float | None,
        progress: Progress,
    ) -> None:
        self.names = names
        self.catalogue = catalogue
        self.opts = opts
        self.expected = expected
        self.plan_timeout = plan_timeout
        self.progress = progress
        self.results: dict[str, SuiteRunResult] = {}
        self.cancel = threading.Event()
        self.done: stdqueue.Queue[tuple[str, SuiteRunResult | BaseException]] = stdqueue.Queue()
        self.threads: dict[str, threading.Thread] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _kind(self, name: str) -> str:
        return self.catalogue.suites[name].kind.value

    def _result(self, name: str, res: SuiteRunResult) -> None:
        self.results[name] = res
        self.progress.finished(res)

    def start(self, deps: Mapping[str, list[str]] | None) -> None:
        """Queue the suites of the catalogue; a name it does not know is an error result."""
        runnable: list[str] = []
        for name in self.names:
            if name in self.catalogue.suites:
                runnable.append(name)
            else:
                message = "suite is not in the catalogue (suites.yaml)"
                self._result(
                    name,
                    _finish(
                        name,
                        "unknown",
                        [_error_case(name, message)],
                        self.opts,
                        reason="not in catalogue",
                    ),
                )
        self.queue = SuiteQueue(
            runnable,
            deps=deps,
            expected={n: self.expected.get(n, 60.0) for n in runnable},
            needs={n: self.catalogue.suites[n].resources for n in runnable},
            pools={k: p.capacity for k, p in self.catalogue.pools.items()},
        )

    def worker(self, name: str) -> None:
        suite = self.catalogue.suites[name]
        timeout = self.opts.timeout or suite.timeout or self.plan_timeout

        def on_spawn(p: subprocess.Popen[bytes]) -> None:
            self.procs[name] = p

        try:
            res: SuiteRunResult | BaseException = _run_suite(
                suite,
                self.opts,
                timeout,
                self.expected.get(name),
                self.cancel,
                self.progress,
                on_spawn,
            )
        except BaseException as exc:  # reported as the suite's error below
            res = exc
        self.done.put((name, res))

    def record(self, name: str, res: SuiteRunResult | BaseException) -> bool:
        """Keep a worker's result (a crash of ctt is the suite's error); skip what it blocks."""
        if isinstance(res, BaseException):
            message = f"ctt failed to run the suite: {res!r}"
            res = _finish(name, self._kind(name), [_error_case(name, message)], self.opts)
        self._result(name, res)
        ok = res.status is Status.PASSED
        for skipped in self.queue.mark_done(name, ok):
            reason = self.queue.skip_reason(skipped) or "skipped"
            self._result(skipped, _skipped(skipped, self._kind(skipped), reason, self.opts))
        return ok

    def loop(self) -> None:
        """Start workers while slots are free, record what finishes; --fail-fast cancels."""
        q = self.queue
        while not q.finished():
            while len(self.threads) < self.opts.parallel_limit and not self.cancel.is_set():
                nxt = q.take()
                if nxt is None:
                    break
                th = threading.Thread(
                    target=self.worker, args=(nxt,), name=f"suite-{nxt}", daemon=True
                )
                self.threads[nxt] = th
                th.start()
            if not self.threads:
                break
            try:
                name, res = self.done.get(timeout=0.25)
            except stdqueue.Empty:
                self.progress.tick()
                continue
            self.threads.pop(name).join()
            self.procs.pop(name, None)
            ok = self.record(name, res)
            if not ok and self.opts.fail_fast and not self.cancel.is_set():
                self.cancel.set()
                reason = "cancelled by --fail-fast"
                for n in q.cancel_pending(reason):
                    self._result(n, _skipped(n, self._kind(n), reason, self.opts))

    def interrupt(self) -> None:
        """Ctrl-C: skip what has not started, and wait for the workers to kill their groups."""
        self.cancel.set()
        for n in self.queue.cancel_pending("interrupted"):
            self.results[n] = _skipped(n, self._kind(n), "interrupted", self.opts)
        while self.threads:
            name, res = self.done.get()
            self.threads.pop(name).join()
            self.record(name, res)

    def fill_gaps(self) -> None:
        """Belt and braces: a planned suite never silently lacks a result."""
        for name in self.names:
            if name not in self.results:
                kind = self._kind(name) if name in self.catalogue.suites else "?"
                self.results[name] = _finish(
                    name, kind, [_error_case(name, "no result was recorded")], self.opts
                )

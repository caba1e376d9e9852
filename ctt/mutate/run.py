"""Running mutants: each one is the user's edited spec, run by the real CLI in its own copy.

``python -m ctt run <copied spec> --junit ... --results ...`` in a subprocess, with ``CI=true``
(and ``--ci`` once ``ctt run`` has it), is exactly what a user's edit would go through: the
spec's own expectations, snapshots and validations decide, nothing in ctt is patched. The
exit code is the verdict (1 killed, 0 survived, 2/3 errored); the results JSON says which
checks killed it or why it did not run. The unmutated spec runs first, the same way: a
spec that fails as written has no score.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ctt.config.yaml_source import safe_load
from ctt.errors import ConfigError, CttError, ExitCode
from ctt.mutate.models import Mutant, MutantResult, MutantStatus, MutationReport, SpecScore
from ctt.mutate.sources import check_spec, display_path, enumerate_mutants, load_sources
from ctt.mutate.workspace import Layout, Workspace

__all__ = [
    "BaselineFailed",
    "MutateOptions",
    "Progress",
    "SpecPlan",
    "plan",
    "run",
]

STACK_SLOTS = 4  # `ctt stack up`'s default: split between the runs going at once
_GRACE_S = 30.0  # after SIGINT, how long a run may clean up its jobs and topics
_POLL_S = 0.2


class MutateOptions(BaseModel):
    select: str | None = Field(None, description="-k: only tests whose name contains this")
    operators: list[str] | None = None
    max_mutants: int | None = Field(None, ge=1, description="per spec")
    parallel: int = Field(2, ge=1, description="`ctt run` subprocesses at once")
    timeout_s: float | None = Field(None, gt=0, description="per mutant; default from baseline")
    min_score: float | None = Field(None, ge=0, le=100)


class BaselineFailed(CttError):
    """The unmutated spec does not pass: its mutants would measure nothing."""


class Progress(Protocol):
    """What the command shows while mutants run (a bar in a terminal, lines in CI)."""

    def begin(self, phase: str, total: int) -> None: ...

    def advance(self, line: str) -> None: ...

    def end(self) -> None: ...


@dataclass
class SpecPlan:
    spec: Path
    layout: Layout
    mutants: list[Mutant]
    notes: list[str]
    equivalent: dict[tuple[str, int, int, str], str] = field(default_factory=dict)  # key -> why

    @property
    def name(self) -> str:
        return display_path(self.spec)


class _Equivalent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mutant: str = Field(description="as `ctt mutate --list` describes it: 'LABEL at FILE:LINE:COL'")
    why: str = Field(min_length=1, description="why no input the spec can generate tells it apart")


class _MutateBlock(BaseModel):
    """A spec's top-level ``x-ctt-mutate``: mutants that provably change nothing on its inputs."""

    model_config = ConfigDict(extra="forbid")
    equivalent: list[_Equivalent] = Field(default_factory=list)


def _same_mutant(entry: str, m: Mutant) -> bool:
    """``entry`` names ``m``: same label and ``LINE:COL``, same file name (the path may differ)."""
    label, sep, where = entry.rpartition(" at ")
    m_label, _, m_where = m.description.rpartition(" at ")
    if not sep or label != m_label:
        return False
    file, _, pos = where.partition(":")
    m_file, _, m_pos = m_where.partition(":")
    return pos == m_pos and Path(file).name == Path(m_file).name


def _equivalents(path: Path, mutants: list[Mutant]) -> dict[tuple[str, int, int, str], str]:
    """The spec's ``x-ctt-mutate.equivalent`` entries, each matched to exactly one mutant."""
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}  # load_sources has already reported what is wrong with the file
    raw = data.get("x-ctt-mutate") if isinstance(data, dict) else None
    if raw is None:
        return {}
    try:
        block = _MutateBlock.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"x-ctt-mutate.{where}: {first['msg']}", file=str(path)) from None
    out: dict[tuple[str, int, int, str], str] = {}
    for entry in block.equivalent:
        found = [m for m in mutants if _same_mutant(entry.mutant, m)]
        if len(found) != 1:
            raise ConfigError(
                f"x-ctt-mutate.equivalent names {entry.mutant!r}, which is "
                + ("not one of this spec's mutants" if not found else "ambiguous"),
                file=str(path),
                hint="copy the description from `ctt mutate --list` (an edit above it moves it)",
            )
        out[found[0].key] = entry.why
    return out


def plan(paths: list[Path], options: MutateOptions) -> list[SpecPlan]:
    """The mutants of every spec; ConfigError (exit 2) for a missing or invalid spec."""
    out = []
    for path in paths:
        check_spec(path)
        sources = load_sources(path, options.select)
        if not sources.tests:
            raise ConfigError(
                "no tests to mutate"
                + (f" matching -k {options.select!r}" if options.select else ""),
                file=str(path),
            )
        mutants = enumerate_mutants(sources, options.operators, options.max_mutants)
        whole = options.select is None and options.operators is None and not options.max_mutants
        every = mutants if whole else enumerate_mutants(load_sources(path))
        equivalent = _equivalents(path, every)  # matched against all: -k/--operator cut later
        kept = {m.key for m in mutants}
        equivalent = {k: why for k, why in equivalent.items() if k in kept}
        out.append(SpecPlan(path, Layout.of(path), mutants, sources.notes, equivalent))
    return out


# --- one `ctt run` -----------------------------------------------------------------------


class _Outcome(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    passed: bool
    summary: str = ""


class _Test(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    status: str
    message: str | None = None
    outcomes: list[_Outcome] = Field(default_factory=list)


class _Results(BaseModel):
    """The part of ``ctt run``'s results JSON a verdict needs (the rest may change freely)."""

    model_config = ConfigDict(extra="ignore")
    tests: list[_Test] = Field(default_factory=list)


@dataclass
class _Job:
    spec: SpecPlan
    mutant: Mutant | None
    timeout_s: float
    workspace: Workspace | None = None
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    stop_at: float | None = None  # SIGINT sent (timeout or Ctrl-C): SIGKILL after the grace
    timed_out: bool = False
    interrupted: bool = False


@dataclass
class RunOutcome:
    exit_code: int | None
    duration_s: float
    timed_out: bool = False
    interrupted: bool = False
    results: _Results | None = None
    stderr: str = ""
    failing: list[str] = field(default_factory=list)

    def first_error(self) -> str:
        """The first line of why a run errored: its results, else its stderr."""
        for t in self.results.tests if self.results else []:
            if t.status == "error" and t.message:
                return f"{t.name}: {t.message.strip().splitlines()[0]}"
        lines = [ln.strip() for ln in self.stderr.splitlines() if ln.strip()]
        for ln in lines:
            if ln.startswith("error:"):
                return ln.removeprefix("error:").strip()
        return lines[-1] if lines else f"exit {self.exit_code}"

    def killed_by(self) -> str:
        parts = []
        for t in self.results.tests if self.results else []:
            failed = [o.name for o in t.outcomes if not o.passed]
            if t.status in ("failed", "error"):
                parts.append(f"{t.name}: {', '.join(failed) or t.status}")
        return "; ".join(parts) or "a test failed"


@functools.cache
def _run_supports_ci() -> bool:
    """Whether ``ctt run`` has ``--ci`` (being added in parallel); CI=true is set either way."""
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    try:
        res = subprocess.run(
            [sys.executable, "-m", "ctt", "run", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return re.search(r"--ci(?![\w-])", res.stdout) is not None


def _command(job: _Job, ws: Workspace, options: MutateOptions) -> list[str]:
    cmd = [sys.executable, "-m", "ctt", "run", str(job.spec.layout.rel_spec)]
    cmd += ["--junit", str(ws.junit), "--results", str(ws.results)]
    cmd += ["--parallel", str(max(1, STACK_SLOTS // options.parallel))]
    tests = job.mutant.tests if job.mutant else []
    select = tests[0] if len(tests) == 1 else options.select
    if select:
        cmd += ["-k", select]
    if _run_supports_ci():
        cmd.append("--ci")
    return cmd


def _start(job: _Job, options: MutateOptions) -> None:
    ws = Workspace(job.spec.layout, job.mutant)
    job.workspace = ws
    env = {**os.environ, "CI": "true", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    with ws.stdout.open("wb") as out, ws.stderr.open("wb") as err:
        job.proc = subprocess.Popen(
            _command(job, ws, options),
            cwd=ws.dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # Ctrl-C reaches it only through us, once, as SIGINT
        )
    job.started = time.monotonic()


def _signal(job: _Job, sig: signal.Signals) -> None:
    if job.proc is not None and job.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.proc.pid, sig)


def _finish(job: _Job) -> RunOutcome:
    assert job.proc is not None and job.workspace is not None
    ws = job.workspace
    results = None
    with contextlib.suppress(OSError, ValidationError, ValueError):
        results = _Results.model_validate_json(ws.results.read_text(encoding="utf-8"))
    try:
        stderr = ws.stderr.read_text(encoding="utf-8", errors="replace")
        stderr += ws.stdout.read_text(encoding="utf-8", errors="replace")
    except OSError:
        stderr = ""
    outcome = RunOutcome(
        exit_code=job.proc.returncode,
        duration_s=time.monotonic() - job.started,
        timed_out=job.timed_out,
        interrupted=job.interrupted,
        results=results,
        stderr=stderr,
    )
    ws.remove()
    return outcome


def _execute(
    jobs: list[_Job], options: MutateOptions, on_done: Callable[[_Job, RunOutcome], None]
) -> bool:
    """Run ``jobs`` with ``options.parallel`` at once; True when Ctrl-C stopped them."""
    pending, running = list(jobs), list[_Job]()
    try:
        while pending or running:
            while pending and len(running) < options.parallel:
                job = pending.pop(0)
                _start(job, options)
                running.append(job)
            now = time.monotonic()
            for job in list(running):
                assert job.proc is not None
                if job.proc.poll() is not None:
                    running.remove(job)
                    on_done(job, _finish(job))
                elif job.stop_at is None and now - job.started > job.timeout_s:
                    job.timed_out, job.stop_at = True, now
                    _signal(job, signal.SIGINT)
                elif job.stop_at is not None and now - job.stop_at > _GRACE_S:
                    _signal(job, signal.SIGKILL)
            time.sleep(_POLL_S)
    except KeyboardInterrupt:
        _stop_all(running, on_done)
        return True
    return False


def _stop_all(running: list[_Job], on_done: Callable[[_Job, RunOutcome], None]) -> None:
    """SIGINT every run (each cancels its Flink jobs and topics), SIGKILL what outlives the grace."""
    for job in running:
        job.interrupted = True
        _signal(job, signal.SIGINT)
    deadline = time.monotonic() + _GRACE_S
    try:
        while any(j.proc is not None and j.proc.poll() is None for j in running):
            if time.monotonic() > deadline:
                break
            time.sleep(_POLL_S)
    except KeyboardInterrupt:
        pass  # a second Ctrl-C: no more waiting
    for job in running:
        _signal(job, signal.SIGKILL)
        if job.proc is not None:
            job.proc.wait()
        on_done(job, _finish(job))


# --- the session -----------------------------------------------------------------------------


def _verdict(mutant: Mutant, outcome: RunOutcome, equivalent: str | None = None) -> MutantResult:
    """The mutant's status from its run; a survivor the spec marks equivalent is not scored."""
    rc = outcome.exit_code
    if outcome.interrupted:
        status, detail = MutantStatus.INTERRUPTED, "interrupted"
    elif outcome.timed_out:
        status, detail = MutantStatus.TIMEOUT, f"still running after {outcome.duration_s:.0f} s"
    elif rc == ExitCode.OK and equivalent is not None:
        status, detail = MutantStatus.EQUIVALENT, equivalent
    elif rc == ExitCode.OK:
        status, detail = MutantStatus.SURVIVED, None
    elif rc == ExitCode.TESTS_FAILED:
        status, detail = MutantStatus.KILLED, outcome.killed_by()
        if equivalent is not None:  # the mark is wrong (or stale): the kill counts
            detail = f"marked equivalent in the spec, yet killed: {detail}"
    else:
        status, detail = MutantStatus.ERRORED, outcome.first_error()
    return MutantResult(
        mutant=mutant,
        status=status,
        exit_code=rc,
        duration_s=round(outcome.duration_s, 1),
        detail=detail,
    )


def _baseline_error(spec: SpecPlan, outcome: RunOutcome) -> BaselineFailed:
    rc = outcome.exit_code
    if outcome.timed_out:
        why = f"timed out after {outcome.duration_s:.0f} s"
    elif rc == ExitCode.TESTS_FAILED:
        why = f"exit 1: {outcome.killed_by()}"
    else:
        why = f"exit {rc}: {outcome.first_error()}"
    err = BaselineFailed(
        f"{spec.name} does not pass as written ({why})",
        hint="a spec that fails unmutated has no score: fix it, then measure its mutants",
    )
    if rc == ExitCode.INFRA:
        err.exit_code = ExitCode.INFRA
    return err


def run(plans: list[SpecPlan], options: MutateOptions, progress: Progress) -> MutationReport:
    """Baselines first (all must pass), then every mutant; the report of what was gathered."""
    t0 = time.monotonic()
    report = MutationReport(parallel=options.parallel, min_score=options.min_score)
    scores = {p.name: SpecScore(spec=p.name) for p in plans}
    report.specs = list(scores.values())
    baseline_timeout = options.timeout_s or 900.0
    failed: list[BaselineFailed] = []

    def baseline_done(job: _Job, outcome: RunOutcome) -> None:
        scores[job.spec.name].baseline_s = round(outcome.duration_s, 1)
        ok = outcome.exit_code == ExitCode.OK and not (outcome.timed_out or outcome.interrupted)
        progress.advance(
            f"baseline {'PASSED' if ok else 'FAILED'} {job.spec.name} ({outcome.duration_s:.0f} s)"
        )
        if not ok and not outcome.interrupted:
            failed.append(_baseline_error(job.spec, outcome))

    progress.begin("baseline", len(plans))
    try:
        interrupted = _execute(
            [_Job(p, None, baseline_timeout) for p in plans if p.mutants], options, baseline_done
        )
    finally:
        progress.end()
    if interrupted:
        report.interrupted = True
        report.wall_s = round(time.monotonic() - t0, 1)
        return report
    if failed:
        raise failed[0]

    jobs = []
    for p in plans:
        base = scores[p.name].baseline_s or 60.0
        timeout = options.timeout_s or max(120.0, 3 * base + 60.0)
        jobs += [_Job(p, m, timeout) for m in p.mutants]
    total = report.total

    def mutant_done(job: _Job, outcome: RunOutcome) -> None:
        assert job.mutant is not None
        result = _verdict(job.mutant, outcome, job.spec.equivalent.get(job.mutant.key))
        scores[job.spec.name].add(result)
        total.add(result.model_copy())
        tail = f": {result.detail}" if result.status is MutantStatus.ERRORED else ""
        progress.advance(
            f"{result.status.value.upper():11} {job.mutant.description} ({result.duration_s:.0f} s){tail}"
        )

    progress.begin("mutants", len(jobs))
    try:
        report.interrupted = _execute(jobs, options, mutant_done)
    finally:
        progress.end()
    total.results = []  # the total holds counts; each result is listed under its spec
    report.wall_s = round(time.monotonic() - t0, 1)
    if options.min_score is not None:
        report.below_min_score = [
            s.spec for s in report.specs if s.score is not None and s.score < options.min_score
        ]
    return report

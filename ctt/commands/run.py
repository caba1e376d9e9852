"""``ctt run``: Flink test specs on a real engine, or the suites of a plan (``--plan``/``--suite``).

Specs run in-process through the one Flink test runner; suites run as processes
through the CI executor, and a Flink suite is again ``ctt run <path>``. Either
way the run's results decide the exit code (:func:`ctt.report.model.exit_code`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from ctt.commands.env import with_env_pool
from ctt.config.cluster import load_cluster, remote_requested
from ctt.config.durations import parse_duration
from ctt.config.spec import LoadedTest, discover
from ctt.console import Output
from ctt.errors import ConfigError, ExitCode, InfraError, UsageError
from ctt.expect import Policy
from ctt.flinktest import sink_run
from ctt.flinktest.reporting import TerminalReporter, write_reports
from ctt.flinktest.results import RunReport, TestResult
from ctt.flinktest.runner import FlinkTestRunner, local_engines
from ctt.infra.provision import confluent_run
from ctt.kafka.client import ConfluentKafka
from ctt.kafka.naming import new_run_id
from ctt.report.model import ErrorKind, RunNotPassed, Status, exit_code
from ctt.stack.supervisor import LocalStack
from ctt.validate.registry import load_spec

if TYPE_CHECKING:
    from ctt.flinktest.confluent_run import ConfluentTarget

__all__ = ["load_all", "run", "run_specs"]

DEFAULT_SPECS = Path("specs")
DEFAULT_JUNIT = Path("test-results/junit-flink.xml")
DEFAULT_RESULTS = Path("test-results/flink-results.json")
ENGINES = ("local", "remote", "confluent")
CONFLUENT_PARALLEL = 4  # statements at once: a compute pool scales, the run's API quota does not


def load_all(paths: list[Path]) -> tuple[list[LoadedTest], list[TestResult]]:
    """Tests from every spec file; a broken file becomes an error result, never hides the others."""
    tests: list[LoadedTest] = []
    broken: list[TestResult] = []
    for path in discover(paths):
        try:
            tests += load_spec(path)
        except ConfigError as exc:
            broken.append(
                TestResult(
                    name=path.stem,
                    file=str(path),
                    line=exc.line,
                    status=Status.ERROR,
                    error_kind=ErrorKind.CONFIG,
                    message=str(exc),
                )
            )
    return tests, broken


def run_specs(
    out: Output,
    paths: list[Path],
    *,
    junit: Path,
    results: Path,
    parallel: int | None,
    select: str | None,
    keep_topics: bool,
    engine: str | None,
    update_snapshots: bool = False,
    ci: bool = False,
    profile: Path | None = None,
    job_metrics: bool = True,
) -> None:
    """Run specs on the local stack (started when needed), on a cluster ctt did not start
    (``profile``/``CTT_*``) or on Confluent Cloud; write JUnit and results either way."""
    engine = resolve_engine(engine, profile)
    snapshots = Policy.resolve(update=update_snapshots, ci=ci)  # refuses to write in CI
    tests, broken = load_all(paths)
    if select:
        tests = [t for t in tests if select in t.test.name]
    if not tests and not broken:
        raise UsageError(
            f"no tests found in {', '.join(map(str, paths))}"
            + (f" matching -k {select!r}" if select else "")
        )
    reporter = TerminalReporter(out)
    for b in broken:
        reporter.finished(b)
    report = RunReport(run_id=new_run_id(), engine=engine, started_at=datetime.now(UTC))
    t0 = time.monotonic()
    if tests and engine == "confluent":
        report.tests = _run_confluent(
            out, tests, report.run_id, reporter, snapshots, parallel, keep_topics
        )
    elif tests and engine == "remote":
        report.tests = _run_remote(
            out, tests, report.run_id, reporter, snapshots, parallel, keep_topics, profile
        )
    elif tests:
        # The stack the specs need: `sink:` tests bring Kafka Connect and PostgreSQL with them
        # (added to a running stack that lacks them), so the shipped specs all run.
        stack, started = LocalStack(sink_run.stack_settings(tests), say=out.info).up()
        if started:
            out.info(
                f"local stack started (Kafka {stack.bootstrap_servers}, Flink {stack.flink_rest_url})"
            )
        out.info(f"running {len(tests)} test(s) on the local stack, run {report.run_id}")
        runner = FlinkTestRunner(
            stack,
            engines=local_engines(stack),
            kafka=ConfluentKafka(stack.bootstrap_servers),
            run_id=report.run_id,
            parallel=parallel,
            listener=reporter.phase,
            keep=keep_topics,
            snapshots=snapshots,
            job_metrics=job_metrics,
        )
        with reporter:
            done = runner.run(tests, on_result=reporter.finished)
        report.tests, report.slots = done.tests, done.slots
    report.tests = broken + report.tests
    report.finish(time.monotonic() - t0)
    write_reports(report, junit=junit, results=results)
    if out.json_mode:
        out.emit_json(report)
    reporter.summary(report)
    out.info(f"JUnit: {junit}  results: {results}")
    code = exit_code(report.tests)
    if code is ExitCode.OK:
        return
    if code is ExitCode.TESTS_FAILED:
        raise RunNotPassed(
            f"{report.summary.not_passed} of {report.summary.total} tests did not pass",
            report.tests,
        )
    raise RunNotPassed(f"{report.summary.errors} test(s) could not run (see above)", report.tests)


def resolve_engine(engine: str | None, profile: Path | None) -> str:
    """``--engine``, or by default ``remote`` when a cluster is given (``--profile``,
    ``CTT_PROFILE``, ``CTT_GATEWAY_URL``) and ``local`` otherwise."""
    if engine is None:
        return "remote" if remote_requested(profile) else "local"
    if engine not in ENGINES:
        raise UsageError(f"--engine {engine}: give {', '.join(ENGINES)}")
    if profile is not None and engine != "remote":
        raise UsageError(f"--profile names a cluster for --engine remote, not {engine}")
    return engine


def confluent_settings(
    out: Output, run_id: str, overrides: Mapping[str, Any] | None = None
) -> ConfluentTarget:
    """The Confluent Cloud target of a run: ``CONFLUENT_*`` variables, then ``overrides``.

    The hook for provisioning: pass the outputs of a Terraform apply as ``overrides``.
    """
    from ctt.flinktest.confluent_run import confluent_target

    return confluent_target(run_id=run_id, say=out.info, overrides=overrides)


def _split(
    out: Output,
    tests: list[LoadedTest],
    run_id: str,
    refusal: Callable[[LoadedTest], str | None],
    where: str,
) -> tuple[list[TestResult], list[LoadedTest]]:
    """(refused as SKIPPED with the reason, runnable): what the target cannot run, up front."""
    refused: list[TestResult] = []
    runnable: list[LoadedTest] = []
    for lt in tests:
        reason = refusal(lt)
        if reason is None:
            runnable.append(lt)
            continue
        refused.append(
            TestResult(
                name=lt.test.name,
                file=str(lt.file),
                line=lt.line,
                run_id=run_id,
                status=Status.SKIPPED,
                message=f"{where} only: {reason}",
            )
        )
    for r in refused:  # one line each, with the reason
        out.info(escape(f"SKIPPED {r.file}::{r.name}: {r.message}"))
    return refused, runnable


def _not_reached(lt: LoadedTest, run_id: str, exc: InfraError) -> TestResult:
    return TestResult(
        name=lt.test.name,
        file=str(lt.file),
        line=lt.line,
        run_id=run_id,
        status=Status.ERROR,
        error_kind=ErrorKind.INFRA,
        message=f"not run: {exc}",
    )


def _run_on(
    out: Output,
    tests: list[LoadedTest],
    run_id: str,
    reporter: TerminalReporter,
    runner: Callable[[int], FlinkTestRunner],
    *,
    refusal: Callable[[LoadedTest], str | None],
    where: str,
    describe: str,
    cleanup: Callable[[], None],
) -> list[TestResult]:
    """Tests on a target other than the local stack: what it cannot run refused up front
    (``where`` only), the rest through ``runner(how many)``, then ``cleanup``, also on
    Ctrl-C; the results in the order of ``tests``."""
    refused, runnable = _split(out, tests, run_id, refusal, where)
    done: list[TestResult] = []
    try:
        flink = runner(len(runnable))
    except InfraError as exc:  # the target is out of reach: each test says so, in the reports
        out.info(escape(f"not run: {exc}"))
        done = [_not_reached(lt, run_id, exc) for lt in runnable]
    else:
        out.info(f"running {len(runnable)} test(s) on {describe}, run {run_id}")
        with reporter:
            done = flink.run(runnable, on_result=reporter.finished).tests
    finally:
        cleanup()
    by_name = {(r.file, r.name): r for r in [*refused, *done]}
    return [by_name[(str(lt.file), lt.test.name)] for lt in tests]


def _run_confluent(
    out: Output,
    tests: list[LoadedTest],
    run_id: str,
    reporter: TerminalReporter,
    snapshots: Policy,
    parallel: int | None,
    keep_topics: bool,
    overrides: Mapping[str, Any] | None = None,
) -> list[TestResult]:
    """Tests on Confluent Cloud: local-only ones refused up front, the rest through the runner."""
    target = confluent_settings(out, run_id, overrides)

    def cleanup() -> None:  # no statement of the run outlives it
        left = target.cleanup()
        if left:
            out.info(f"deleted {len(left)} leftover statement(s) of run {run_id}")

    return _run_on(
        out,
        tests,
        run_id,
        reporter,
        lambda _n: FlinkTestRunner(
            engines=target.engines,
            kafka=target.kafka,
            engine_name="confluent",
            run_id=run_id,
            parallel=parallel or CONFLUENT_PARALLEL,
            listener=reporter.phase,
            keep=keep_topics,
            snapshots=snapshots,
        ),
        refusal=target.refusal,
        where="local engine",
        describe=target.describe(),
        cleanup=cleanup,
    )


def _run_remote(
    out: Output,
    tests: list[LoadedTest],
    run_id: str,
    reporter: TerminalReporter,
    snapshots: Policy,
    parallel: int | None,
    keep_topics: bool,
    profile: Path | None,
) -> list[TestResult]:
    """Tests on a cluster ctt did not start: sized to its free slots, cleaned by run id."""
    from ctt.flinktest.remote_run import RemoteTarget

    target = RemoteTarget(load_cluster(profile), run_id=run_id, say=out.info)

    def cleanup() -> None:  # nothing of this run outlives it, nothing of another run goes
        left = target.cleanup(keep_topics=keep_topics)
        if left.topics or left.jobs:
            out.info(
                f"removed {len(left.topics)} topic(s) and {len(left.jobs)} job(s) "
                f"left by run {run_id}"
            )

    def runner(n: int) -> FlinkTestRunner:
        if n:
            target.check_kafka()
        return FlinkTestRunner(
            engines=target.engines,
            kafka=target.kafka,
            engine_name="remote",
            run_id=run_id,
            parallel=target.parallel(parallel) if n else 1,
            listener=reporter.phase,
            keep=keep_topics,
            snapshots=snapshots,
            flink_kafka=target.flink_kafka,
        )

    return _run_on(
        out,
        tests,
        run_id,
        reporter,
        runner,
        refusal=target.refusal,
        where="local stack",
        describe=target.describe(),
        cleanup=cleanup,
    )


@with_env_pool  # ctt run --env-pool NAME: the whole run holds a leased environment
def run(
    out: Output,
    paths: list[Path] | None,
    *,
    plan: Path | None,
    suite: str | None,
    catalogue: Path,
    parallel_limit: int | None,
    retries: int | None,
    timeout: str | None,
    fail_fast: bool,
    results_dir: Path,
    junit: Path | None,
    results: Path | None,
    parallel: int | None,
    select: str | None,
    keep_topics: bool,
    engine: str | None,
    update_snapshots: bool = False,
    ci: bool = False,
    provision: bool = False,
    job_metrics: bool = True,
    provision_module: str | None = None,
    profile: Path | None = None,
) -> None:
    """``ctt run``: suites of a plan (``--plan``), one suite (``--suite``) or specs (the default)."""
    if plan is None and suite is None:
        hook = confluent_run(  # --provision: Terraform around the run (ctt/infra/provision.py)
            enabled=provision,
            engine=engine or "local",
            module=provision_module,
            run_id=new_run_id(),
            say=out.info,
        )
        with hook:
            run_specs(
                out,
                paths or [DEFAULT_SPECS],
                junit=junit or DEFAULT_JUNIT,
                results=results or DEFAULT_RESULTS,
                parallel=parallel,
                select=select,
                keep_topics=keep_topics,
                engine=engine,
                update_snapshots=update_snapshots,
                ci=ci,
                profile=profile,
                job_metrics=job_metrics,
            )
        return
    if plan is not None and suite is not None:
        raise UsageError("give --plan or --suite, not both")
    if provision:
        raise UsageError("--provision goes with a spec run, not with --plan/--suite")
    if paths:
        raise UsageError("spec paths cannot be combined with --plan/--suite")
    if profile is not None:  # each suite's `ctt run` process reads the cluster from it
        os.environ["CTT_PROFILE"] = str(profile.resolve())
    try:
        limit = parse_duration(timeout) if timeout else None
    except ValueError as exc:
        raise UsageError(f"--timeout: {exc}") from None
    # The suites' machinery (plans, pools, networkx) is imported only for --plan/--suite runs.
    from ctt.commands._suites import run_plan, run_suite

    if plan is not None:
        run_plan(
            out,
            plan,
            catalogue=catalogue,
            parallel_limit=parallel_limit,
            retries=retries,
            timeout=limit,
            fail_fast=fail_fast,
            results_dir=results_dir,
        )
    else:
        assert suite is not None
        run_suite(
            out,
            suite,
            catalogue=catalogue,
            retries=retries or 0,
            timeout=limit,
            results_dir=results_dir,
        )

"""What `ctt run <specs>` and `ctt cleanup` do."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from ctt.config.spec import LoadedTest, discover, load_spec
from ctt.console import Output
from ctt.errors import ConfigError, ExitCode, TestsFailed, UsageError
from ctt.expect import Policy
from ctt.flinktest.reporting import TerminalReporter, write_reports
from ctt.flinktest.results import ErrorKind, RunReport, Status, TestResult
from ctt.flinktest.runner import FlinkTestRunner, local_engines
from ctt.kafka.admin import TopicAdmin
from ctt.kafka.client import ConfluentKafka
from ctt.kafka.naming import created_at, new_run_id, run_id_of
from ctt.stack.supervisor import LocalStack


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
    engine: str,
    update_snapshots: bool = False,
    ci: bool = False,
) -> None:
    if engine != "local":
        raise UsageError(
            f"the runner drives the local engine; --engine {engine} is not wired into `ctt run` yet",
            hint="see docs/confluent-cloud.md for the Confluent Cloud client and its contract tests",
        )
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
    if tests:
        stack, started = LocalStack(say=out.info).up()
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
        )
        with reporter:
            done = runner.run(tests, on_result=reporter.finished)
        report.tests = done.tests
    report.tests = broken + report.tests
    report.finish(time.monotonic() - t0)
    write_reports(report, junit=junit, results=results)
    if out.json_mode:
        out.emit_json(report)
    reporter.summary(report)
    out.info(f"JUnit: {junit}  results: {results}")
    code = report.exit_code()
    if code is ExitCode.OK:
        return
    if code is ExitCode.TESTS_FAILED:
        raise TestsFailed(
            f"{report.summary.failed + report.summary.errors} of {report.summary.total} tests did not pass"
        )
    err = TestsFailed(f"{report.summary.errors} test(s) could not run (see above)")
    err.exit_code = code
    raise err


class CleanupReport(BaseModel):
    topics: list[str]
    jobs: list[str]
    dry_run: bool


def cleanup(out: Output, *, older_than_s: float, prefix: str, dry_run: bool) -> None:
    from ctt.engines.flink_rest import FlinkRest

    stack = LocalStack().current()
    if stack is None:
        raise UsageError("no local stack is running: nothing to clean", hint="`ctt stack status`")
    now = datetime.now(UTC)

    def old(run_id: str | None) -> bool:
        born = created_at(run_id) if run_id else None
        return born is not None and (now - born).total_seconds() >= older_than_s

    admin = TopicAdmin(stack.bootstrap_servers)
    topics = sorted(t for t in admin.list() if t.startswith(prefix + ".") and old(run_id_of(t)))
    rest = FlinkRest(stack.flink_rest_url)
    jobs = []
    for job in rest.jobs():
        name = str(job.get("name", ""))
        if name.startswith(prefix + "-") and job.get("state") in (
            "RUNNING",
            "CREATED",
            "RESTARTING",
        ):
            run_id = "-".join(name.split("-")[1:3])
            if old(run_id):
                jobs.append(str(job["jid"]))
    if not dry_run:
        for jid in jobs:
            rest.cancel(jid)
        admin.delete(topics)
    rest.close()
    report = CleanupReport(topics=topics, jobs=jobs, dry_run=dry_run)
    if out.json_mode:
        out.emit_json(report)
    verb = "would remove" if dry_run else "removed"
    out.info(f"{verb} {len(topics)} topic(s) and {len(jobs)} job(s)")

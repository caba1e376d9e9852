"""The ``ctt`` command line: argument parsing, output mode and exit codes. Nothing else.

Each command hands its arguments and an :class:`ctt.console.Output` to its
module in :mod:`ctt.commands`, which does the work. What a command ends with
becomes an exit code in :func:`main`, through :func:`ctt.report.model.exit_code`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer._click.exceptions import ClickException  # typer vendors click; pinned in uv.lock

from ctt import __version__
from ctt.console import Output
from ctt.errors import CttError, ExitCode

app = typer.Typer(
    name="ctt",
    help="Test Kafka + Flink SQL pipelines on a real engine, and run those tests continuously.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: no rich/markdown import, so `--help` starts fast
    context_settings={"help_option_names": ["-h", "--help"]},
)
stack_app = typer.Typer(
    help="Start, stop and inspect the local Kafka + Flink stack.", no_args_is_help=True
)
app.add_typer(stack_app, name="stack")
infra_app = typer.Typer(
    help="Terraform modules (terraform/modules/): plan, apply, destroy, output; one workspace "
    "per run.",
    no_args_is_help=True,
)
app.add_typer(infra_app, name="infra")

JsonOpt = Annotated[bool, typer.Option("--json", help="Write a JSON document to stdout.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ctt {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """ctt: continuous testing for Kafka + Flink SQL pipelines."""


# --- stack -------------------------------------------------------------------------------------


@stack_app.command("up")
def stack_up(
    slots: Annotated[int, typer.Option(help="TaskManager slots: how many tests run at once.")] = 4,
    kafka_port: Annotated[int, typer.Option(help="Kafka port (0: pick a free one).")] = 0,
    flink_port: Annotated[int, typer.Option(help="Flink REST port (0: pick a free one).")] = 0,
    gateway_port: Annotated[int, typer.Option(help="SQL Gateway port (0: pick a free one).")] = 0,
    with_: Annotated[
        str,
        typer.Option(
            "--with",
            envvar="CTT_STACK_WITH",
            help="Optional components, comma-separated: connect (Kafka Connect with the JDBC "
            "sink), postgres (PostgreSQL, the sink target).",
        ),
    ] = "",
    connect_port: Annotated[int, typer.Option(help="Kafka Connect REST port (0: free).")] = 0,
    postgres_port: Annotated[int, typer.Option(help="PostgreSQL port (0: pick a free one).")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Fetch pinned artifacts (once) and start Kafka, Flink and the SQL Gateway.

    A no-op when the stack already runs and is healthy; `--with` adds the optional
    components a running stack lacks.
    """
    from ctt.commands import stack

    settings = stack.settings_from_args(
        slots=slots,
        kafka_port=kafka_port,
        flink_port=flink_port,
        gateway_port=gateway_port,
        with_=with_,
        connect_port=connect_port,
        postgres_port=postgres_port,
    )
    stack.up(Output(json_mode=json_out), settings=settings)


@stack_app.command("down")
def stack_down(
    keep: Annotated[bool, typer.Option("--keep", help="Keep Kafka and Flink data.")] = False,
) -> None:
    """Stop the stack (SIGTERM, then SIGKILL after a deadline) and remove its data."""
    from ctt.commands import stack

    stack.down(Output(), keep=keep)


@stack_app.command("status")
def stack_status(json_out: JsonOpt = False) -> None:
    """Show each component's pid, port, version and health."""
    from ctt.commands import stack

    stack.status(Output(json_mode=json_out))


@stack_app.command("logs")
def stack_logs(
    component: Annotated[
        str,
        typer.Argument(help="kafka, jobmanager, taskmanager, sql-gateway, connect or postgres"),
    ],
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many last lines.")] = 50,
) -> None:
    """Show the last lines of a component's log."""
    from ctt.commands import stack

    stack.logs(Output(), component, lines=lines)


@stack_app.command("fetch")
def stack_fetch(
    relock: Annotated[
        bool, typer.Option("--relock", help="Rewrite stack/artifacts.lock from what was fetched.")
    ] = False,
) -> None:
    """Download and verify the pinned artifacts into the cache, without starting anything."""
    from ctt.commands import stack

    stack.fetch(Output(), relock=relock)


@app.command("doctor")
def doctor(json_out: JsonOpt = False) -> None:
    """Check Java, Maven, free ports, cache and disk, each with advice."""
    from ctt.commands.doctor import doctor as check

    check(Output(json_mode=json_out))


# --- run, cleanup ------------------------------------------------------------------------------

SuitesAtOnceOpt = Annotated[
    int | None,
    typer.Option(
        envvar="PARALLEL_EXECUTION_LIMIT", min=1, help="Suites at once (--plan; default: plan)."
    ),
]
JunitOpt = Annotated[
    Path | None,
    typer.Option(help="Write JUnit XML here (specs; default test-results/junit-flink.xml)."),
]
ResultsOpt = Annotated[
    Path | None,
    typer.Option(
        help="Write the results JSON here (specs; default test-results/flink-results.json)."
    ),
]
TestsAtOnceOpt = Annotated[
    int | None,
    typer.Option(
        "--parallel",
        "-p",
        min=1,
        help="Jobs at once (specs; default: the stack's slots, or a remote cluster's free "
        "slots); as many more tests plan meanwhile.",
    ),
]
ProfileOpt = Annotated[
    Path | None,
    typer.Option(
        help="A cluster ctt did not start: a profile YAML (SQL Gateway, Flink REST, Kafka; "
        "default $CTT_PROFILE); CTT_* variables override it (docs/user-guide.md, 'Running "
        "against an existing cluster').",
    ),
]


@app.command("run")
def run(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Spec files or directories (default: specs/).")
    ] = None,
    plan: Annotated[
        Path | None, typer.Option(help="Run every suite of a test-execution-plan.json.")
    ] = None,
    suite: Annotated[str | None, typer.Option(help="Run one suite of the catalogue.")] = None,
    catalogue: Annotated[Path, typer.Option(help="Suite catalogue (--plan/--suite).")] = Path(
        "continuous-testing/config/suites.yaml"
    ),
    parallel_limit: SuitesAtOnceOpt = None,
    retries: Annotated[
        int | None, typer.Option(min=0, help="Re-runs of a failed suite (--plan/--suite).")
    ] = None,
    timeout: Annotated[
        str | None, typer.Option(help="Per-suite timeout, e.g. 30m (--plan/--suite).")
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop all suites at the first failure (--plan).")
    ] = False,
    results_dir: Annotated[
        Path, typer.Option(help="JUnit and results JSON (--plan/--suite).")
    ] = Path("test-results"),
    junit: JunitOpt = None,
    results: ResultsOpt = None,
    parallel: TestsAtOnceOpt = None,
    select: Annotated[
        str | None, typer.Option("-k", help="Only tests whose name contains this text (specs).")
    ] = None,
    keep_topics: Annotated[
        bool, typer.Option("--keep-topics", help="Do not delete the run's topics (for debugging).")
    ] = False,
    job_metrics: Annotated[
        bool,
        typer.Option(
            "--job-metrics/--no-job-metrics",
            help="Read the job's metrics (rates, back pressure, checkpoints, restarts) after each "
            "test (default). --no-job-metrics skips them: checks that need them fail.",
        ),
    ] = True,
    engine: Annotated[
        str | None,
        typer.Option(
            help="Flink engine: local (the local stack), remote (a cluster ctt did not start: "
            "--profile or CTT_* variables; the default when one is given) or confluent "
            "(Confluent Cloud, CONFLUENT_* variables; see docs/confluent-cloud.md)."
        ),
    ] = None,
    profile: ProfileOpt = None,
    update_snapshots: Annotated[
        bool, typer.Option("--update-snapshots", help="Record or rewrite snapshots (specs).")
    ] = False,
    ci: Annotated[
        bool, typer.Option("--ci", help="CI mode (also CI=true): never write snapshots.")
    ] = False,
    provision: Annotated[
        bool,
        typer.Option(
            "--provision",
            help="With --engine confluent: apply --provision-module before the run, use its "
            "outputs as the engine's settings, destroy it after (also on failure and Ctrl-C).",
        ),
    ] = False,
    provision_module: Annotated[
        str | None,
        typer.Option(help="Module for --provision (default terraform/modules/flink-testing)."),
    ] = None,
    env_pool: Annotated[
        str | None,
        typer.Option(
            envvar="CTT_ENV_POOL_NAME",
            help="Lease an environment of this pool (environments.yaml) for the run.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run Flink test specs on a real Flink engine, or suites of a plan.

    With no arguments: every spec under specs/ on the local stack, which is started if it is
    not running. Exit codes: 0 all passed, 1 a test failed, 2 a spec or its SQL is wrong,
    3 infrastructure failed, 130 interrupted.
    """
    from ctt.commands import run as run_cmd

    run_cmd.run(
        Output(json_mode=json_out),
        paths,
        plan=plan,
        suite=suite,
        catalogue=catalogue,
        parallel_limit=parallel_limit,
        retries=retries,
        timeout=timeout,
        fail_fast=fail_fast,
        results_dir=results_dir,
        junit=junit,
        results=results,
        parallel=parallel,
        select=select,
        keep_topics=keep_topics,
        job_metrics=job_metrics,
        engine=engine,
        update_snapshots=update_snapshots,
        ci=ci,
        provision=provision,
        provision_module=provision_module,
        env_pool=env_pool,
        profile=profile,
    )


# --- infra -------------------------------------------------------------------------------------
ModuleArg = Annotated[
    str | None,
    typer.Argument(help="A module directory, or a name under terraform/modules/ (flink-testing)."),
]
VarOpt = Annotated[
    list[str] | None, typer.Option("--var", help="KEY=VALUE (JSON values allowed), repeatable.")
]
WorkspaceOpt = Annotated[str, typer.Option(help="The workspace `ctt infra apply` printed.")]


@infra_app.command("plan")
def infra_plan(
    module: ModuleArg = None,
    workspace: Annotated[
        str | None, typer.Option(help="Plan against this workspace (default: a fresh one).")
    ] = None,
    var: VarOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show what applying MODULE would create, change and destroy (a readable summary)."""
    from ctt.commands import infra

    infra.plan(Output(json_mode=json_out), module, workspace=workspace, var=var or [])


@infra_app.command("apply")
def infra_apply(module: ModuleArg = None, var: VarOpt = None, json_out: JsonOpt = False) -> None:
    """Apply MODULE in a new workspace ctt-<run id> and keep it; a failed apply is destroyed."""
    from ctt.commands import infra

    infra.apply(Output(json_mode=json_out), module, var=var or [])


@infra_app.command("output")
def infra_output(
    workspace: WorkspaceOpt, module: ModuleArg = None, json_out: JsonOpt = False
) -> None:
    """Show the outputs of MODULE in WORKSPACE (sensitive values masked)."""
    from ctt.commands import infra

    infra.output(Output(json_mode=json_out), module, workspace=workspace)


@infra_app.command("destroy")
def infra_destroy(
    workspace: WorkspaceOpt, module: ModuleArg = None, var: VarOpt = None, json_out: JsonOpt = False
) -> None:
    """Destroy everything MODULE created in WORKSPACE, then delete the workspace."""
    from ctt.commands import infra

    infra.destroy(Output(json_mode=json_out), module, workspace=workspace, var=var or [])


@app.command("cleanup")
def cleanup(
    older_than: Annotated[
        str, typer.Option(help="Only leftovers older than this, e.g. 1h (0s: all).")
    ] = "1h",
    prefix: Annotated[str, typer.Option(help="Topic/job name prefix ctt uses.")] = "ctt",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List, do not delete.")] = False,
    run_id: Annotated[
        str | None,
        typer.Option(
            help="Only what this run owns (its topics and jobs), whatever their age; other "
            "runs' are never touched."
        ),
    ] = None,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Remove topics, jobs and sink connectors (and their tables) that runs left, on the local
    stack or a --profile cluster."""
    from ctt.commands.cleanup import cleanup as clean

    clean(
        Output(json_mode=json_out),
        older_than=older_than,
        prefix=prefix,
        dry_run=dry_run,
        run_id=run_id,
        profile=profile,
    )


# --- analyze, select ---------------------------------------------------------------------------
_SELECTION_FILE = Path("continuous-testing/config/test-selection.yaml")
_SUITES_FILE = Path("continuous-testing/config/suites.yaml")
RepoOpt = Annotated[
    Path, typer.Option("--repo", help="Repository root (config paths are relative to it).")
]
SelectionOpt = Annotated[Path, typer.Option("--config", help="test-selection.yaml")]
SuitesOpt = Annotated[Path, typer.Option("--suites", help="Suite catalogue (suites.yaml).")]
CacheOpt = Annotated[
    Path | None,
    typer.Option(help="Lineage cache directory (relative to --repo); keep it between CI runs."),
]


@app.command("analyze")
def analyze_cmd(
    base: Annotated[
        str | None,
        typer.Option(help="Compare against this commit (via the merge base with --head)."),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option(help="Commit to analyse (default HEAD; alone: against its parent)."),
    ] = None,
    merge_base: Annotated[
        bool, typer.Option(help="Compare --base through its merge base with --head.")
    ] = True,
    output: Annotated[Path, typer.Option("-o", "--output")] = Path("change-analysis.json"),
    repo: RepoOpt = Path("."),
    config: SelectionOpt = _SELECTION_FILE,
    suites: SuitesOpt = _SUITES_FILE,
    cache_dir: CacheOpt = Path(".ctt/cache"),
    json_out: JsonOpt = False,
) -> None:
    """Write change-analysis.json: changed files (from --base/--head, GitLab's variables or the
    working tree) and the components each maps to."""
    from ctt.commands.analyze import analyze

    analyze(
        Output(json_mode=json_out),
        repo=repo,
        base=base,
        head=head,
        use_merge_base=merge_base,
        output=output,
        config=config,
        suites=suites,
        cache_dir=cache_dir,
    )


@app.command("select")
def select_cmd(
    mode: Annotated[
        str, typer.Option(envvar="TEST_SELECTION_MODE", help="smart, full or manual.")
    ] = "smart",
    tests: Annotated[
        str | None, typer.Option(help="Comma-separated suites to run (manual mode).")
    ] = None,
    analysis: Annotated[Path, typer.Option(help="change-analysis.json from 'ctt analyze'.")] = Path(
        "change-analysis.json"
    ),
    history: Annotated[
        str | None,
        typer.Option(help="History: a SQLite path, a PostgreSQL URL or a JSON summary."),
    ] = None,
    branch: Annotated[str | None, typer.Option(help="Branch whose history counts.")] = None,
    parallel_limit: Annotated[
        int | None, typer.Option(envvar="PARALLEL_EXECUTION_LIMIT", min=1, help="Override.")
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output")] = Path("test-execution-plan.json"),
    child_pipeline: Annotated[
        Path | None, typer.Option(help="Also write a GitLab child pipeline (one job per suite).")
    ] = None,
    child_template: Annotated[
        Path | None, typer.Option(help="YAML merged into the child pipeline (image, default).")
    ] = None,
    explain: Annotated[bool, typer.Option(help="Say why each suite runs or is skipped.")] = False,
    repo: RepoOpt = Path("."),
    config: SelectionOpt = _SELECTION_FILE,
    suites: SuitesOpt = _SUITES_FILE,
    cache_dir: CacheOpt = Path(".ctt/cache"),
    json_out: JsonOpt = False,
) -> None:
    """Choose the suites a change needs and write test-execution-plan.json."""
    from ctt.commands import select as select_cmd_

    select_cmd_.select(
        Output(json_mode=json_out),
        repo=repo,
        mode=mode,
        tests=tests,
        analysis=analysis,
        history=history,
        branch=branch,
        parallel_limit=parallel_limit,
        output=output,
        child=child_pipeline,
        child_template=child_template,
        explain=explain,
        config=config,
        suites=suites,
        cache_dir=cache_dir,
    )


# --- aggregate, gate ---------------------------------------------------------------------------
HistoryOpt = Annotated[
    str | None,
    typer.Option(
        "--history",
        envvar="CTT_HISTORY_URL",
        help="History store: a SQLite path (default .ctt/history.sqlite) or a postgresql:// URL.",
    ),
]


@app.command("aggregate")
def aggregate_cmd(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(help="JUnit files, results JSON or directories (default: test-results/)."),
    ] = None,
    plan: Annotated[
        Path | None, typer.Option(help="Plan whose suites must all have a result.")
    ] = None,
    history: HistoryOpt = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Store this run in the history.")
    ] = True,
    branch: Annotated[
        str | None, typer.Option(help="Branch of this run (default: CI/git).")
    ] = None,
    target_branch: Annotated[
        str | None, typer.Option(help="Compare failures with this branch (default: MR target).")
    ] = None,
    report: Annotated[Path, typer.Option(help="HTML report to write.")] = Path(
        "consolidated-test-report.html"
    ),
    metrics: Annotated[Path, typer.Option(help="Metrics JSON to write.")] = Path(
        "test-metrics.json"
    ),
    junit: Annotated[Path, typer.Option(help="Merged JUnit to write.")] = Path(
        "consolidated-junit.xml"
    ),
    trend_runs: Annotated[int, typer.Option(min=1, help="Runs shown in trends.")] = 30,
    baseline_runs: Annotated[
        int, typer.Option(min=1, help="Passing runs whose median duration is the baseline.")
    ] = 10,
    gates: Annotated[
        Path | None,
        typer.Option(
            help="quality-gates.yaml whose performance_regression: settings compare each "
            "test's metrics with history (default: continuous-testing/config/, if present)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Merge JUnit and results into consolidated-test-report.html, test-metrics.json and history."""
    from ctt.commands.aggregate import aggregate

    aggregate(
        Output(json_mode=json_out),
        inputs or [Path("test-results")],
        plan=plan,
        history=history,
        record=record,
        branch=branch,
        target_branch=target_branch,
        report=report,
        metrics_path=metrics,
        merged_junit=junit,
        trend_runs=trend_runs,
        baseline_runs=baseline_runs,
        gates=gates,
    )


@app.command("gate")
def gate_cmd(
    metrics: Annotated[Path, typer.Option(help="test-metrics.json from 'ctt aggregate'.")] = Path(
        "test-metrics.json"
    ),
    config: Annotated[Path, typer.Option("--config", help="quality-gates.yaml")] = Path(
        "continuous-testing/config/quality-gates.yaml"
    ),
    mode: Annotated[
        str | None,
        typer.Option(help="blocking, advisory or auto (blocking in merge request pipelines)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Evaluate the quality gates; exit 1 when a blocking gate fails."""
    from ctt.commands import gate

    gate.gate(
        Output(json_mode=json_out),
        metrics_path=metrics,
        gates_path=config,
        mode=gate.parse_mode(mode),
    )


# --- generate ----------------------------------------------------------------------------------
@app.command("generate")
def generate_cmd(
    spec: Annotated[Path | None, typer.Option(help="Spec file whose table to fill.")] = None,
    table: Annotated[str | None, typer.Option(help="Table of --spec to generate.")] = None,
    test: Annotated[
        str | None, typer.Option(help="Test of --spec (default: first with --table).")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Topic (default: the table's).")] = None,
    rate: Annotated[
        float | None, typer.Option(help="Events/s (default: as fast as possible).")
    ] = None,
    count: Annotated[int | None, typer.Option(help="Number of events.")] = None,
    duration: Annotated[
        str | None, typer.Option(help="Run length with --rate, e.g. '60s'.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: fixed).")] = None,
    data_format: Annotated[str | None, typer.Option("--format", help="json or avro.")] = None,
    ground_truth: Annotated[
        Path | None, typer.Option(help="Ground-truth JSONL (default: ground-truth/<topic>.jsonl).")
    ] = None,
    bootstrap_servers: Annotated[
        str | None, typer.Option(help="Kafka (default: the running local stack).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Produce a generated, reproducible stream into Kafka and write its ground truth."""
    from ctt.commands.generate import parse_cli_values, run_generate

    out = Output(json_mode=json_out)
    run_generate(
        out,
        spec=spec,
        table=table,
        test=test,
        topic=topic,
        rate=rate,
        count=count,
        ground_truth=ground_truth,
        bootstrap_servers=bootstrap_servers,
        seed=seed,
        **parse_cli_values(duration=duration, data_format=data_format),
    )


@app.command("mutate")
def mutate_cmd(
    specs: Annotated[list[Path], typer.Argument(help="Spec files or directories to mutate.")],
    select: Annotated[
        str | None, typer.Option("-k", help="Only tests whose name contains this text.")
    ] = None,
    operator: Annotated[
        list[str] | None,
        typer.Option("--operator", help="Only this operator (repeatable); see --list."),
    ] = None,
    max_mutants: Annotated[
        int | None, typer.Option(min=1, help="At most this many mutants per spec.")
    ] = None,
    parallel: Annotated[
        int, typer.Option("--parallel", "-p", min=1, help="`ctt run` subprocesses at once.")
    ] = 2,
    timeout: Annotated[
        str | None, typer.Option(help="Per-mutant timeout, e.g. 5m (default: from the baseline).")
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(min=0, max=100, help="Exit 1 when any spec scores below this percentage."),
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="List the mutants without running them.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Mutation testing: edit the spec's SQL the way a bug would, and check its tests notice.

    Each mutant is the spec (or its SQL template) with one edit, run through `ctt run` in a
    temporary copy. Killed: a test failed; survived: all passed. Exit codes: 0 done, 1 a spec
    scored below --min-score, 2 bad input or a spec that fails unmutated, 3 infrastructure,
    130 interrupted.
    """
    from ctt.commands import mutate as mutate_cmd_

    mutate_cmd_.mutate_cli(
        Output(json_mode=json_out),
        specs,
        select=select,
        operators=operator,
        max_mutants=max_mutants,
        parallel=parallel,
        timeout=timeout,
        min_score=min_score,
        output=output,
        list_only=list_only,
    )


@app.command("lint")
def lint_cmd(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Spec files, directories of specs, or .sql files (default: specs/)."),
    ] = None,
    select: Annotated[
        list[str] | None, typer.Option("--select", help="Only this rule (repeatable).")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Skip this rule (repeatable).")
    ] = None,
    junit: Annotated[
        Path | None, typer.Option(help="Also write JUnit XML here (one case per file).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Report, at file:line:col, what Confluent Cloud rejects or runs differently.

    Rules: legacy_group_window, proctime, temporary_object, connector_option, plain_format,
    scan_startup_mode, window_without_watermark, sparse_partitions, error_handling_mode
    (docs/confluent-cloud.md). Silence one where it is meant with a SQL comment
    `-- ctt-lint: ignore[rule]` on its line or the line above. Exit codes: 0 clean,
    1 findings, 2 unreadable input.
    """
    from ctt.commands.lint import lint_cli

    lint_cli(
        Output(json_mode=json_out),
        paths or [Path("specs")],
        select=select,
        ignore=ignore,
        junit=junit,
    )


# --- schedule, trigger, notify, metrics (continuous testing integrations) ---------------------
schedule_app = typer.Typer(
    help="Scheduled test runs: next fires, what runs now, GitLab schedules, regressions.",
    no_args_is_help=True,
)
app.add_typer(schedule_app, name="schedule")
metrics_app = typer.Typer(
    help="Export test metrics to Prometheus and OpenTelemetry.", no_args_is_help=True
)
app.add_typer(metrics_app, name="metrics")
SchedulesOpt = Annotated[Path, typer.Option("--config", help="schedules.yaml")]
ApiUrlOpt = Annotated[str | None, typer.Option(help="GitLab API URL (default: CI_API_V4_URL).")]
ProjectOpt = Annotated[
    str | None, typer.Option(help="Project id or path (default: CI_PROJECT_ID).")
]
_SCHEDULES = Path("continuous-testing/config/schedules.yaml")
_GATES = Path("continuous-testing/config/quality-gates.yaml")


@schedule_app.command("next")
def schedule_next(
    config: SchedulesOpt = _SCHEDULES,
    count: Annotated[int, typer.Option(min=1, help="Fires per schedule.")] = 3,
    after: Annotated[
        str | None, typer.Option("--from", help="Start time (ISO 8601; default now).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List the next fires of every schedule, with the maintenance window each falls into."""
    from ctt.commands import schedule

    schedule.next_cmd(Output(json_mode=json_out), config=config, count=count, after=after)


@schedule_app.command("due")
def schedule_due(
    at: Annotated[
        str | None, typer.Option(help="Decision time, ISO 8601 with offset, or now.")
    ] = None,
    schedule_name: Annotated[
        str | None,
        typer.Option(
            "--schedule", envvar="CTT_SCHEDULE", help="The schedule that started the pipeline."
        ),
    ] = None,
    config: SchedulesOpt = _SCHEDULES,
    history: Annotated[
        str | None,
        typer.Option(help="History store (default: CTT_HISTORY_URL or .ctt/history.sqlite)."),
    ] = None,
    record: Annotated[
        bool, typer.Option(help="Log decisions and resolve deferred runs in the history store.")
    ] = True,
    dotenv: Annotated[
        Path | None,
        typer.Option(help="Write TEST_SELECTION_MODE, TEST_SUITES, CTT_SCHEDULE_ACTION here."),
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Write the decisions as JSON here.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Decide what a scheduled pipeline runs now (cron fires, maintenance windows, deferred runs)."""
    from ctt.commands import schedule

    schedule.due_cmd(
        Output(json_mode=json_out),
        at=at,
        schedule=schedule_name,
        config=config,
        history=history,
        record=record,
        dotenv=dotenv,
        output=output,
    )


@schedule_app.command("sync")
def schedule_sync(
    config: SchedulesOpt = _SCHEDULES,
    api_url: ApiUrlOpt = None,
    project: ProjectOpt = None,
    prune: Annotated[
        bool, typer.Option(help="Deactivate ctt's schedules that left the file.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Show the changes, change nothing.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create or update the project's GitLab pipeline schedules from schedules.yaml (token: CTT_GITLAB_TOKEN)."""
    from ctt.commands import schedule

    schedule.sync_cmd(
        Output(json_mode=json_out),
        config=config,
        api_url=api_url,
        project=project,
        prune=prune,
        dry_run=dry_run,
    )


@schedule_app.command("regression")
def schedule_regression(
    schedule_name: Annotated[
        str, typer.Option("--schedule", envvar="CTT_SCHEDULE", help="The schedule of this run.")
    ],
    metrics: Annotated[Path, typer.Option(help="test-metrics.json from 'ctt aggregate'.")] = Path(
        "test-metrics.json"
    ),
    history: Annotated[
        str | None, typer.Option(help="History store (default: CTT_HISTORY_URL).")
    ] = None,
    max_slowdown: Annotated[
        float, typer.Option(min=0, help="Percent slower than the good run that counts.")
    ] = 25.0,
    output: Annotated[Path | None, typer.Option(help="Write the comparison as JSON here.")] = None,
    fail: Annotated[bool, typer.Option("--fail", help="Exit 1 when the run regressed.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Compare a scheduled run with the last good run of the same schedule."""
    from ctt.commands import schedule

    schedule.regression_cmd(
        Output(json_mode=json_out),
        schedule=schedule_name,
        metrics_path=metrics,
        history=history,
        max_slowdown=max_slowdown / 100.0,
        output=output,
        fail=fail,
    )


@app.command("trigger")
def trigger_cmd(
    ref: Annotated[str, typer.Option(help="Branch or tag to run.")] = "main",
    variable: Annotated[
        list[str] | None, typer.Option("--variable", "-v", help="KEY=VALUE (repeatable).")
    ] = None,
    mode: Annotated[
        str | None, typer.Option(help="TEST_SELECTION_MODE: smart, full or manual.")
    ] = None,
    tests: Annotated[str | None, typer.Option(help="Manual mode: comma-separated suites.")] = None,
    watch: Annotated[
        bool, typer.Option(help="Follow the pipeline; exit with its outcome.")
    ] = False,
    deadline: Annotated[
        float, typer.Option(min=1, help="--watch: give up after this many seconds.")
    ] = 3600.0,
    poll: Annotated[
        float, typer.Option(min=0.01, help="--watch: first poll interval (doubles, up to 30s).")
    ] = 2.0,
    api_url: ApiUrlOpt = None,
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Start a pipeline through GitLab's trigger API (token: CTT_TRIGGER_TOKEN).

    Exit codes with --watch: 0 success, 1 failed/canceled/blocked, 3 still running at the deadline.
    """
    from ctt.commands.trigger import trigger

    trigger(
        Output(json_mode=json_out),
        ref=ref,
        variables=variable or [],
        mode=mode,
        tests=tests,
        watch=watch,
        deadline=deadline,
        poll=poll,
        api_url=api_url,
        project=project,
    )


@app.command("notify")
def notify_cmd(
    to: Annotated[
        str | None, typer.Option(help="slack,teams,gitlab (default: all configured).")
    ] = None,
    metrics: Annotated[Path, typer.Option(help="test-metrics.json")] = Path("test-metrics.json"),
    gates: Annotated[Path, typer.Option(help="quality-gates.yaml")] = _GATES,
    gate_mode: Annotated[str | None, typer.Option(help="blocking, advisory or auto.")] = None,
    mr: Annotated[
        int | None, typer.Option(help="Merge request IID (default: CI_MERGE_REQUEST_IID).")
    ] = None,
    report_url: Annotated[str | None, typer.Option(help="Link to the HTML report.")] = None,
    schedule_regression: Annotated[
        Path | None, typer.Option(help="From 'ctt schedule regression --output'.")
    ] = None,
    schedule_decision: Annotated[
        Path | None, typer.Option(help="From 'ctt schedule due --output'.")
    ] = None,
    api_url: ApiUrlOpt = None,
    project: ProjectOpt = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print the messages as JSON, send nothing.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Send the run's summary to Slack, Teams and the merge request (one note, updated each run)."""
    from ctt.commands import gate as gate_cmd_
    from ctt.commands import notify

    notify.notify(
        Output(json_mode=json_out),
        channels=notify.parse_channels(to),
        metrics_path=metrics,
        gates_path=gates,
        gate_mode=gate_cmd_.parse_mode(gate_mode),
        mr_iid=mr,
        report_url=report_url,
        regression_path=schedule_regression,
        decision_path=schedule_decision,
        api_url=api_url,
        project=project,
        dry_run=dry_run,
    )


@metrics_app.command("export")
def metrics_export(
    metrics: Annotated[Path, typer.Option(help="test-metrics.json")] = Path("test-metrics.json"),
    gates: Annotated[Path, typer.Option(help="quality-gates.yaml")] = _GATES,
    gate_mode: Annotated[str | None, typer.Option(help="blocking, advisory or auto.")] = None,
    textfile: Annotated[
        Path | None, typer.Option(help="Write a *.prom file (node_exporter textfile collector).")
    ] = None,
    pushgateway: Annotated[
        str | None, typer.Option(help="Pushgateway URL (default: CTT_PUSHGATEWAY_URL).")
    ] = None,
    job: Annotated[str, typer.Option(help="Pushgateway job name.")] = "ctt",
    otlp_endpoint: Annotated[
        str | None,
        typer.Option(help="OTLP/HTTP metrics URL, e.g. http://collector:4318/v1/metrics."),
    ] = None,
    otlp: Annotated[
        bool, typer.Option(help="Export over OTLP/HTTP as OTEL_EXPORTER_OTLP_* say.")
    ] = False,
) -> None:
    """Export the run's test metrics (Prometheus text format, pushgateway, OTLP/HTTP)."""
    from ctt.commands import gate as gate_cmd_
    from ctt.commands.telemetry import export

    export(
        Output(),
        metrics_path=metrics,
        gates_path=gates,
        gate_mode=gate_cmd_.parse_mode(gate_mode),
        textfile=textfile,
        pushgateway=pushgateway,
        job=job,
        otlp_endpoint=otlp_endpoint,
        otlp=otlp,
    )


# --- env ---------------------------------------------------------------------------------------
env_app = typer.Typer(
    help="Lease shared test environments (pools in environments.yaml; leases in the history "
    "database, so parallel jobs agree).",
    no_args_is_help=True,
)
app.add_typer(env_app, name="env")
EnvConfigOpt = Annotated[Path, typer.Option("--config", help="The pools file.")]
_ENV_CONFIG = Path("continuous-testing/config/environments.yaml")


@env_app.command("lease")
def env_lease(
    pool: Annotated[str, typer.Argument(help="Pool name.")],
    ttl: Annotated[
        str | None, typer.Option(help="Lease time, e.g. 30m (default: the pool's).")
    ] = None,
    wait: Annotated[str, typer.Option(help="Wait this long for a free environment.")] = "0s",
    holder: Annotated[
        str | None, typer.Option(help="Who holds it (default: CI job, host, pid).")
    ] = None,
    shell: Annotated[bool, typer.Option("--shell", help="Print export lines for eval.")] = False,
    config: EnvConfigOpt = _ENV_CONFIG,
    history: HistoryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Lease a free (or stale) environment of POOL: `eval "$(ctt env lease stacks --shell)"`."""
    from ctt.commands import env

    env.lease(
        Output(json_mode=json_out),
        pool,
        config=config,
        history=history,
        ttl=ttl,
        wait=wait,
        holder=holder,
        shell=shell,
    )


@env_app.command("renew")
def env_renew(
    lease_id: Annotated[str, typer.Argument(help="The lease id 'ctt env lease' printed.")],
    ttl: Annotated[str, typer.Option(help="New lease time from now.")] = "30m",
    history: HistoryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Extend a lease (a job renews well within the TTL; an expired lease can be taken over)."""
    from ctt.commands import env

    env.renew(Output(json_mode=json_out), lease_id, ttl=ttl, history=history)


@env_app.command("release")
def env_release(
    lease_id: Annotated[str, typer.Argument(help="The lease id.")],
    history: HistoryOpt = None,
) -> None:
    """Give an environment back to its pool."""
    from ctt.commands import env

    env.release(Output(), lease_id, history=history)


@env_app.command("list")
def env_list(
    pool: Annotated[str | None, typer.Argument(help="Only this pool.")] = None,
    history: HistoryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Environments and their leases: free, leased (by whom, until when) or stale."""
    from ctt.commands import env

    env.list_envs(Output(json_mode=json_out), pool, history=history)


def main() -> None:
    """Entry point: run the app and turn how a command ended into its documented exit code."""
    try:
        # Without standalone mode, click *returns* the code of typer.Exit and of Ctrl-C (130).
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(int(ExitCode.INTERRUPTED))
    except ClickException as exc:  # usage errors: unknown option, bad value
        exc.show()
        sys.exit(int(ExitCode.USAGE))
    except (CttError, KeyboardInterrupt) as exc:
        from ctt.report.model import exit_code

        Output().failure(exc)
        sys.exit(int(exit_code(exc)))
    if code == int(ExitCode.INTERRUPTED):
        Output().failure(KeyboardInterrupt())
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]

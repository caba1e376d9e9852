"""The ``ctt`` command line: argument parsing, output mode and exit codes. Nothing else.

Each command builds the domain object that does the work and reports its
result through :class:`ctt.console.Output`. Exceptions become exit codes in
:func:`main`, the only place that knows about them.
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
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
stack_app = typer.Typer(
    help="Start, stop and inspect the local Kafka + Flink stack.", no_args_is_help=True
)
app.add_typer(stack_app, name="stack")

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
    json_out: JsonOpt = False,
) -> None:
    """Fetch pinned artifacts (once) and start Kafka, Flink and the SQL Gateway.

    A no-op when the stack already runs and is healthy.
    """
    from ctt.stack import commands
    from ctt.stack.supervisor import StackSettings

    settings = StackSettings(
        slots=slots, kafka_port=kafka_port, flink_port=flink_port, gateway_port=gateway_port
    )
    commands.up(Output(json_mode=json_out), settings=settings)


@stack_app.command("down")
def stack_down(
    keep: Annotated[bool, typer.Option("--keep", help="Keep Kafka and Flink data.")] = False,
) -> None:
    """Stop the stack (SIGTERM, then SIGKILL after a deadline) and remove its data."""
    from ctt.stack import commands

    commands.down(Output(), keep=keep)


@stack_app.command("status")
def stack_status(json_out: JsonOpt = False) -> None:
    """Show each component's pid, port, version and health."""
    from ctt.stack import commands

    commands.status(Output(json_mode=json_out))


@stack_app.command("logs")
def stack_logs(
    component: Annotated[str, typer.Argument(help="kafka, jobmanager, taskmanager or sql-gateway")],
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many last lines.")] = 50,
) -> None:
    """Show the last lines of a component's log."""
    from ctt.stack import commands

    commands.logs(Output(), component, lines=lines)


@stack_app.command("fetch")
def stack_fetch(
    relock: Annotated[
        bool, typer.Option("--relock", help="Rewrite stack/artifacts.lock from what was fetched.")
    ] = False,
) -> None:
    """Download and verify the pinned artifacts into the cache, without starting anything."""
    from ctt.stack import commands

    commands.fetch(Output(), relock=relock)


@app.command("doctor")
def doctor(json_out: JsonOpt = False) -> None:
    """Check Java, Maven, free ports, cache and disk, each with advice."""
    from ctt.stack import commands

    commands.doctor(Output(json_mode=json_out))


# --- commands added by later capabilities register below ---------------------------------------


# >>> run (Flink test runner: main engineer; --plan/--suite branch: ctt.ci.commands) >>>
@app.command("run")
def run(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Spec files or directories (default: specs/).")
    ] = None,
    plan: Annotated[
        Path | None, typer.Option(help="Run every suite of a test-execution-plan.json.")
    ] = None,
    suite: Annotated[str | None, typer.Option(help="Run one suite of the catalogue.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run Flink test specs on the local stack (starting it if needed), or suites of a plan."""
    raise NotImplementedError


# <<< run <<<

# >>> analyze/select (ctt.ci: change analysis and selection) >>>
# <<< analyze/select <<<

# >>> aggregate/gate (ctt.ci: aggregation, history, gates) >>>
# <<< aggregate/gate <<<

# >>> generate (ctt.datagen) >>>
# <<< generate <<<


def main() -> None:
    """Entry point: run the app and map errors to documented exit codes."""
    out = Output()
    try:
        app(standalone_mode=False)
    except CttError as exc:
        out.error(str(exc))
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        out.error("interrupted")
        sys.exit(int(ExitCode.INTERRUPTED))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(int(ExitCode.INTERRUPTED))
    except ClickException as exc:  # usage errors: unknown option, bad value
        exc.show()
        sys.exit(int(ExitCode.USAGE))
    sys.exit(0)


__all__ = ["app", "main"]

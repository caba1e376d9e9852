"""``ctt stack up|down|status|logs|fetch``: the local Kafka + Flink stack, printed through Output.

The stack package supervises the processes; this module only tells it what to
do and shows what it reports.
"""

from __future__ import annotations

from rich.table import Table

from ctt.console import Output
from ctt.errors import InfraError, UsageError
from ctt.stack import artifacts, health, process, state
from ctt.stack.models import ComponentStatus, StackStatus
from ctt.stack.settings import StackSettings, parse_extras
from ctt.stack.supervisor import LocalStack

__all__ = ["current_status", "down", "fetch", "logs", "settings_from_args", "status", "up"]


def fetch(out: Output, *, relock: bool = False) -> None:
    lay = artifacts.ensure(out.info, relock=relock)
    out.info(f"artifacts ready in {lay.root}")


def settings_from_args(
    *,
    slots: int = 4,
    kafka_port: int = 0,
    flink_port: int = 0,
    gateway_port: int = 0,
    with_: str = "",
    connect_port: int = 0,
    postgres_port: int = 0,
) -> StackSettings:
    """The stack settings ``ctt stack up``'s options ask for (``--with`` parsed and checked)."""
    return StackSettings(
        slots=slots,
        kafka_port=kafka_port,
        flink_port=flink_port,
        gateway_port=gateway_port,
        extras=parse_extras(with_),
        connect_port=connect_port,
        postgres_port=postgres_port,
    )


def up(out: Output, *, settings: StackSettings) -> None:
    stack = LocalStack(settings, say=out.info)
    _, started = stack.up()
    if not started and not stack.added:
        out.info("stack already running and healthy: nothing to do")
    status(out, quiet_table=out.json_mode)


def down(out: Output, *, keep: bool) -> None:
    st = LocalStack(say=out.info).down(keep=keep)
    if st is None:
        out.info("no stack is running")
    else:
        out.info("stack stopped" + (f"; data kept in {st.run_dir}" if keep else ""))


def current_status() -> StackStatus:
    st = LocalStack().current()
    if st is None:
        return StackStatus(running=False)
    healthy = health.component_health(st)
    return StackStatus(
        running=True,
        healthy=all(healthy.values()),
        run_dir=str(st.run_dir),
        started_at=st.started_at,
        bootstrap_servers=st.bootstrap_servers,
        flink_rest_url=st.flink_rest_url,
        gateway_url=st.gateway_url,
        connect_url=st.connect_url,
        postgres_dsn=st.postgres_dsn,
        slots=st.slots,
        components=[
            ComponentStatus(
                name=name,
                pid=comp.pid,
                port=comp.port,
                version=comp.version,
                alive=comp.alive(),
                healthy=healthy.get(name, False),
                log=str(comp.log),
            )
            for name, comp in st.components.items()
        ],
    )


def status(out: Output, *, quiet_table: bool = False) -> None:
    doc = current_status()
    if out.json_mode:
        out.emit_json(doc)
        return
    if not doc.running:
        out.info("no stack is running (start one with `ctt stack up`)")
        return
    table = Table(title=f"local stack ({'healthy' if doc.healthy else 'NOT healthy'})")
    for col in ("component", "pid", "port", "version", "health"):
        table.add_column(col)
    for c in doc.components:
        table.add_row(
            c.name,
            str(c.pid),
            str(c.port or "-"),
            c.version,
            "[green]ok[/green]" if c.healthy else "[red]down[/red]",
        )
    out.table(table)
    out.info(
        f"Kafka {doc.bootstrap_servers}  Flink {doc.flink_rest_url}  SQL Gateway {doc.gateway_url}"
    )
    if doc.connect_url or doc.postgres_dsn:
        extras = [f"Connect {doc.connect_url}"] if doc.connect_url else []
        extras += [f"PostgreSQL {doc.postgres_dsn}"] if doc.postgres_dsn else []
        out.info("  ".join(extras))


def logs(out: Output, component: str, *, lines: int) -> None:
    st = state.read()
    if st is None:
        raise InfraError("no stack is running", hint="run `ctt stack up`")
    comp = st.components.get(component)
    if comp is None:
        raise UsageError(
            f"unknown component {component!r}", hint=f"one of: {', '.join(st.components)}"
        )
    for line in process.tail(comp.log, lines):
        out.out.print(line, markup=False, highlight=False)

"""``ctt doctor``: check Java, Maven, free ports, cache and disk, each with advice.

Any failed check is an infrastructure error (exit 3): the stack would not start.
"""

from __future__ import annotations

from rich.table import Table

from ctt.console import Output
from ctt.errors import InfraError
from ctt.stack import doctor as doctor_mod

__all__ = ["doctor"]


def doctor(out: Output) -> None:
    checks = doctor_mod.run_checks()
    if out.json_mode:
        out.emit_json([c.model_dump() for c in checks])
    else:
        table = Table(title="ctt doctor")
        for col in ("check", "", "detail", "advice"):
            table.add_column(col)
        for c in checks:
            table.add_row(
                c.name, "[green]ok[/green]" if c.ok else "[red]FAIL[/red]", c.detail, c.advice or ""
            )
        out.table(table)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise InfraError(f"doctor found problems: {', '.join(failed)}")

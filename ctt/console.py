"""The one object that owns terminal output (rich for people, plain lines in CI, JSON for scripts).

rich and pydantic are imported when output is first written, not when ctt starts:
``ctt --help`` and a command's argument errors should not pay for them.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ctt.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console
    from rich.table import Table


def in_ci() -> bool:
    """True on CI runners, where output must be plain lines without live redraws."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


class Output:
    """Owns stdout/stderr for a command; commands never print directly.

    ``json_mode`` sends machine-readable documents to stdout and everything
    human to stderr, so ``ctt x --json | jq`` always works.
    """

    def __init__(self, *, json_mode: bool = False, quiet: bool = False) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self._plain = in_ci() or not sys.stdout.isatty()
        self.live = not self._plain and not json_mode and not quiet

    @cached_property
    def out(self) -> Console:
        from rich.console import Console

        plain = self._plain
        return Console(
            highlight=False, soft_wrap=plain, force_terminal=None if not plain else False
        )

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=self._plain)

    def info(self, text: str) -> None:
        if not self.quiet:
            (self.err if self.json_mode else self.out).print(text)

    def warn(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {text}")

    def error(self, text: str, *, snippet: str | None = None) -> None:
        """One ``error:`` line; below it, verbatim, the offending lines of the user's file."""
        self.err.print(f"[bold red]error:[/bold red] {text}", markup=True, soft_wrap=True)
        if snippet:
            self.err.print(snippet, markup=False, highlight=False, soft_wrap=True)

    def failure(self, exc: BaseException) -> None:
        """Report the error a command ended with: its one line, and a ConfigError's snippet."""
        if isinstance(exc, KeyboardInterrupt):
            self.error("interrupted")
        else:
            self.error(str(exc), snippet=exc.snippet if isinstance(exc, ConfigError) else None)

    def table(self, table: Table) -> None:
        if not self.quiet:
            (self.err if self.json_mode else self.out).print(table)

    def emit_json(self, doc: BaseModel | dict[str, Any] | list[Any]) -> None:
        """Write one JSON document to stdout."""
        from pydantic import BaseModel

        if isinstance(doc, BaseModel):
            text = doc.model_dump_json(indent=2)
        else:
            text = json.dumps(doc, indent=2, default=str)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

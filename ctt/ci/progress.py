"""Live progress of suite execution: a redrawn rich view in a terminal, plain lines in CI logs."""

from __future__ import annotations

import threading
import time
from types import TracebackType

from rich.live import Live
from rich.table import Table
from rich.text import Text

from ctt.ci.execute import SuiteRunResult
from ctt.console import Output
from ctt.report.model import Status

__all__ = ["PlainProgress", "RichProgress", "make_progress"]

_STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "red",
    Status.ERROR: "bold red",
    Status.SKIPPED: "yellow",
}


def _line(r: SuiteRunResult) -> str:
    extra = []
    if r.flaky:
        extra.append(f"{r.flaky} flaky")
    if len(r.attempts) > 1:
        extra.append(f"{len(r.attempts)} attempts")
    if r.reason:
        extra.append(r.reason)
    tail = f" ({', '.join(extra)})" if extra else ""
    return (
        f"{r.status.value.upper():7} {r.name}: {r.passed}/{r.tests} passed, {r.failed} failed, "
        f"{r.errors} errors in {r.duration:.1f}s{tail}"
    )


class PlainProgress:
    """One line per event; safe for CI logs and pipes."""

    def __init__(self, out: Output, total: int) -> None:
        self.out = out
        self.total = total
        self.done = 0
        self.lock = threading.Lock()

    def started(self, name: str, attempt: int) -> None:
        with self.lock:
            again = f" (attempt {attempt})" if attempt > 1 else ""
            self.out.info(f"START   {name}{again}")

    def finished(self, result: SuiteRunResult) -> None:
        with self.lock:
            self.done += 1
            self.out.info(f"[{self.done}/{self.total}] {_line(result)}")

    def tick(self) -> None:
        pass

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass


class RichProgress(PlainProgress):
    """Finished suites scroll above a live table of the running ones."""

    def __init__(self, out: Output, total: int) -> None:
        super().__init__(out, total)
        self.running: dict[str, tuple[float, int]] = {}
        self.live = Live(self._render(), console=out.out, refresh_per_second=4, transient=True)

    def _render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_row(Text(f"{self.done}/{self.total} suites done", style="bold"))
        now = time.monotonic()
        for name, (t0, attempt) in sorted(self.running.items()):
            again = f" attempt {attempt}" if attempt > 1 else ""
            table.add_row(Text(f"  ⏳ {name}{again}  {now - t0:5.0f}s", style="cyan"))
        return table

    def started(self, name: str, attempt: int) -> None:
        with self.lock:
            self.running[name] = (time.monotonic(), attempt)
            self.live.update(self._render())

    def finished(self, result: SuiteRunResult) -> None:
        with self.lock:
            self.running.pop(result.name, None)
            self.done += 1
            self.live.console.print(Text(_line(result), style=_STYLE[result.status]))
            self.live.update(self._render())

    def tick(self) -> None:
        with self.lock:
            self.live.update(self._render())

    def __enter__(self) -> RichProgress:
        self.live.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.live.stop()


def make_progress(out: Output, total: int) -> PlainProgress:
    """Rich live view when a person watches a terminal, plain lines otherwise (CI, pipes, --json)."""
    return RichProgress(out, total) if out.live else PlainProgress(out, total)

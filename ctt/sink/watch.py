"""When each row became visible in the target: a poller of the table, from connector start to the end.

A background thread reads the table (``PostgresTarget.rows``) every poll interval
(``ctt.polling.Backoff`` up to ``cap``) and notes, for each distinct row (its values),
the wall-clock time it was first seen. The end-to-end latency of a row is that time
minus its input's produce time, so it is an upper bound by at most one poll interval.
An error in the thread is kept and raised by :meth:`TargetWatcher.stop`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from ctt.errors import CttError
from ctt.polling import Backoff

Rows = Callable[[], list[dict[str, Any]] | None]


def identity(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


class TargetWatcher:
    """Polls ``rows`` in a thread; :attr:`seen` maps a row's identity to when it first showed."""

    def __init__(self, rows: Rows, *, cap: float = 0.2, clock: Callable[[], float] = time.time):
        self._rows = rows
        self._cap = cap
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: list[dict[str, Any]] | None = None
        self._error: CttError | None = None
        self.seen: dict[str, float] = {}
        self.polls = 0
        self._thread = threading.Thread(target=self._loop, name="ctt-sink-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poll(self) -> list[dict[str, Any]] | None:
        """One read of the table, noting new rows (also called by the thread)."""
        rows = self._rows()
        at = self._clock()
        with self._lock:
            self.polls += 1
            self._latest = rows
            for row in rows or []:
                self.seen.setdefault(identity(row), at)
        return rows

    def latest(self) -> list[dict[str, Any]] | None:
        with self._lock:
            return None if self._latest is None else list(self._latest)

    def _loop(self) -> None:
        backoff = Backoff(self._cap)
        while not self._stop.is_set():
            try:
                self.poll()
            except CttError as exc:
                self._error = exc
                return
            self._stop.wait(backoff.next_interval())

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._error is not None:
            raise self._error


__all__ = ["TargetWatcher", "identity"]

"""What selection and planning read from history: the last failures and typical durations.

Either a JSON summary or the history store (ctt/ci/history.py), always through
the store's own methods: nothing here knows its tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ctt.errors import ConfigError

__all__ = ["History", "JsonHistory", "StoreHistory", "open_history"]


class History(Protocol):
    """What selection needs from the history store (ctt/ci/history.py may satisfy it)."""

    def last_failed_suites(self) -> set[str]: ...

    def median_durations(self) -> dict[str, float]: ...


@dataclass
class JsonHistory:
    """A history summary as JSON: ``{"last_failed": [...], "median_durations": {...}}``."""

    last_failed: set[str] = field(default_factory=set)
    durations: dict[str, float] = field(default_factory=dict)

    def last_failed_suites(self) -> set[str]:
        return set(self.last_failed)

    def median_durations(self) -> dict[str, float]:
        return dict(self.durations)

    @classmethod
    def load(cls, path: Path) -> JsonHistory:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("history file not found", file=str(path)) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read history: {exc}", file=str(path)) from None
        if not isinstance(data, dict):
            raise ConfigError("history must be a JSON object", file=str(path))
        failed = data.get("last_failed", [])
        durations = data.get("median_durations", {})
        if not isinstance(failed, list) or not isinstance(durations, dict):
            raise ConfigError(
                "expected 'last_failed' (a list) and 'median_durations' (an object)",
                file=str(path),
            )
        return cls({str(x) for x in failed}, {str(k): float(v) for k, v in durations.items()})


class StoreHistory:
    """Adapts the history database (ctt/ci/history.py) to :class:`History`."""

    def __init__(self, target: str | Path, suites: Iterable[str], branch: str | None = None):
        self.target = target
        self.suites = list(suites)
        self.branch = branch

    def last_failed_suites(self) -> set[str]:
        """Suites whose most recent recorded run (on ``branch`` when given) failed."""
        from ctt.ci.history import HistoryStore

        with HistoryStore.open(self.target) as store:
            return store.last_failed_suites(self.branch)

    def median_durations(self) -> dict[str, float]:
        from ctt.ci.history import HistoryStore

        with HistoryStore.open(self.target) as store:
            return {n: m for n, (m, _k) in store.duration_baselines(self.suites).items()}


def open_history(path: Path | str, suites: Iterable[str], branch: str | None = None) -> History:
    """A JSON summary (``*.json``) or the history database (SQLite path or PostgreSQL URL)."""
    if str(path).endswith(".json"):
        return JsonHistory.load(Path(path))
    if "://" not in str(path) and not Path(path).exists():
        raise ConfigError("history database not found", file=str(path))
    return StoreHistory(path, suites, branch)

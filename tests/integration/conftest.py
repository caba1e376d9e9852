"""What integration tests share: the stack handle (the ``stack`` and ``connect_stack`` fixtures
live in tests/conftest.py, so that contract, e2e and integration tests get one and the same
session stack) and a developer's environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ctt.stack import artifacts
from ctt.stack.state import StackState
from ctt.stack.supervisor import LocalStack


class StackHandle:
    """The running stack's state, plus what failure tests need (restart the broker)."""

    def __init__(self, stack: LocalStack, state: StackState, *, owned: bool = False) -> None:
        self._stack = stack
        self.state = state
        self.owned = owned  # started by this test session (so tests may kill its processes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.state, name)

    @property
    def kafka_libs(self) -> Path:
        return artifacts.layout().kafka_libs

    def restart_kafka(self) -> None:
        self.state = self._stack.restart_kafka()


def developer_env() -> dict[str, str]:
    """The environment of a developer's machine: CI refuses what only a developer may do
    (recording snapshots), and the test suite itself runs under CI."""
    return {k: v for k, v in os.environ.items() if k not in ("CI", "GITLAB_CI")}

"""The real local stack, started once per test session and shared by every integration test.

A stack already running (a developer's) is reused and left running; one the
session started is stopped at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture(scope="session")
def stack() -> Iterator[StackHandle]:
    sup = LocalStack()
    state, started = sup.up()
    try:
        yield StackHandle(sup, state, owned=started)
    finally:
        if started:
            sup.down()


def developer_env() -> dict[str, str]:
    """The environment of a developer's machine: CI refuses what only a developer may do
    (recording snapshots), and the test suite itself runs under CI."""
    return {k: v for k, v in os.environ.items() if k not in ("CI", "GITLAB_CI")}

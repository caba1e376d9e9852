"""The real local stack, started once per test session and shared by every integration test.

A stack already running (a developer's) is reused and left running; one the
session started is stopped at the end. Tests that need Kafka Connect and
PostgreSQL ask for ``connect_stack``: it adds them to the session's stack (once),
so the tests that do not need them never wait for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ctt.stack import artifacts
from ctt.stack.settings import Extra, StackSettings
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


@pytest.fixture(scope="session")
def connect_stack(stack: StackHandle) -> StackHandle:
    """The session's stack with Kafka Connect (JDBC sink) and PostgreSQL added to it.

    Stopped with the stack when the session started it; on a stack the session only found,
    they stay running with it (``ctt stack down`` stops them).
    """
    sup = LocalStack(StackSettings(extras=frozenset({Extra.CONNECT, Extra.POSTGRES})))
    state, _ = sup.up()
    stack.state = state
    return stack


def developer_env() -> dict[str, str]:
    """The environment of a developer's machine: CI refuses what only a developer may do
    (recording snapshots), and the test suite itself runs under CI."""
    return {k: v for k, v in os.environ.items() if k not in ("CI", "GITLAB_CI")}

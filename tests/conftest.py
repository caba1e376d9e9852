"""Test-wide settings, and the real local stack, started once per test session.

One definition of the ``stack`` fixture serves every folder (contract tests run the Confluent
contract on it, integration tests everything else): were it defined twice, the second would find
the first's stack running, not own it, and the tests that kill its processes would skip. A stack
already running (a developer's) is reused and left running; one the session started is stopped
at the end. Tests that need Kafka Connect and PostgreSQL ask for ``connect_stack``: it adds
them to the session's stack (once), so the tests that do not need them never wait for them.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator

import pytest

from ctt.stack.settings import Extra, StackSettings
from ctt.stack.supervisor import LocalStack
from tests.integration.conftest import StackHandle


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the processes the tests start, even when pytest runs in the background.

    A shell starts a background job (`make test &`, `nohup`) with SIGINT ignored; an ignored
    signal stays ignored across exec, and Python then installs no KeyboardInterrupt handler:
    every test that sends SIGINT to a `ctt` it started saw it finish as if never interrupted.
    A handler set here is reset to the default in each child, which Python then handles.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/integration are marked `integration` so `-m "not integration"` runs fast."""
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


needs_terraform = pytest.mark.skipif(
    shutil.which("terraform") is None,
    reason="terraform is not on PATH: ctt drives the user's terraform binary and cannot fetch one "
    "(the HashiCorp releases are out of reach here); install Terraform >= 1.6 to run these",
)


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

"""A throwaway PostgreSQL server for the history store and lease tests.

Started the way the local stack starts its PostgreSQL (``ctt.stack.postgres``: Debian's
binaries, trust auth on 127.0.0.1, as the ``postgres`` user when tests run as root), in a
temporary directory, once per module; each test gets a database of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctt.errors import InfraError
from ctt.polling import Backoff
from ctt.stack import ports, postgres

USER = "ctt"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """``postgresql://ctt@127.0.0.1:PORT/postgres`` of a server stopped after the module."""
    try:
        server = postgres.find_server(12)
    except InfraError as exc:
        pytest.skip(
            f"no PostgreSQL server binaries ({exc}): `make install` installs Debian's postgresql "
            "(scripts/install-system-deps.sh); without them the history store and lease tests run "
            "on SQLite only"
        )
    base = Path(tempfile.mkdtemp(prefix="ctt-pg-"))
    os.chmod(base, 0o755)  # the postgres user reaches its data dir below it
    data = base / "data"
    postgres.init_cluster(server, data, user=USER)
    (port,) = ports.pick_free(1)
    log = (base / "log").open("wb")
    proc = subprocess.Popen(
        postgres.command(server, data, port), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline, backoff = time.monotonic() + 60, Backoff(0.2)
        while not postgres.ready(port, user=USER, database="postgres"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL did not start: {(base / 'log').read_text()[-2000:]}")
            backoff.wait()
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        proc.send_signal(signal.SIGINT)  # fast shutdown
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_url: str) -> str:
    """The URL of a fresh, empty database on the module's server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_url.rsplit("/", 1)[0] + "/" + name

"""The PostgreSQL server of the local stack: Debian's binaries, a throwaway cluster, a real query.

The cluster is made by ``initdb`` with trust authentication (tests only: it
listens on 127.0.0.1 and its unix socket lives in its own data directory) and
settings that trade durability for speed (no fsync). PostgreSQL refuses to run
as root: when ctt runs as root, ``initdb`` and ``postgres`` run as the
``postgres`` user that Debian's package creates, and the data directory is one
that user can reach (``/tmp/ctt-postgres-<hash of the state dir>``); otherwise it
lives in the stack's run directory.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pydantic import BaseModel

from ctt.errors import InfraError
from ctt.stack import paths

SERVICE_USER = "postgres"  # the account Debian's postgresql package creates
DEFAULT_DEB_ROOT = Path("/usr/lib/postgresql")
_BIN_ENV = "CTT_POSTGRES_BIN"  # a folder with initdb and postgres, instead of Debian's


class PostgresMissingError(InfraError):
    """No usable PostgreSQL server binaries on this machine."""


class Server(BaseModel):
    """The server binaries found on this machine."""

    bin_dir: Path
    major: int
    version: str

    @property
    def initdb(self) -> Path:
        return self.bin_dir / "initdb"

    @property
    def postgres(self) -> Path:
        return self.bin_dir / "postgres"


def _version_of(bin_dir: Path) -> str | None:
    """``"15.14"`` from ``postgres --version``."""
    try:
        out = subprocess.run(
            [str(bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except OSError:
        return None
    match = re.search(r"\(PostgreSQL\) (\d+(?:\.\d+)*)", out)
    return match[1] if match else None


def find_server(min_major: int, *, deb_root: Path = DEFAULT_DEB_ROOT) -> Server:
    """``$CTT_POSTGRES_BIN``, else the newest ``/usr/lib/postgresql/<major>/bin`` >= ``min_major``."""
    hint = "install Debian's server package (`apt-get install postgresql`; `make install` does it)"
    override = os.environ.get(_BIN_ENV)
    candidates = (
        [Path(override)]
        if override
        else sorted(
            (d / "bin" for d in deb_root.glob("*") if d.name.isdigit()),
            key=lambda b: int(b.parent.name),
            reverse=True,
        )
    )
    for bin_dir in candidates:
        if not ((bin_dir / "initdb").is_file() and (bin_dir / "postgres").is_file()):
            continue
        version = _version_of(bin_dir)
        major = int(version.split(".")[0]) if version else 0
        if version and major >= min_major:
            return Server(bin_dir=bin_dir, major=major, version=version)
    where = override or f"{deb_root}/<major>/bin"
    raise PostgresMissingError(
        f"no PostgreSQL {min_major}+ server (initdb, postgres) found in {where}", hint=hint
    )


def _as_root() -> bool:
    return os.geteuid() == 0


def _service_ids() -> tuple[int, int]:
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PostgresMissingError(
            f"ctt runs as root and PostgreSQL refuses root, but there is no {SERVICE_USER!r} user",
            hint="install Debian's postgresql package (it creates the user) or run ctt as a user",
        ) from None
    return user.pw_uid, user.pw_gid


def run_as() -> list[str]:
    """The command prefix that drops root to the ``postgres`` user; empty when not root."""
    if not _as_root():
        return []
    _uid, gid = _service_ids()
    group = grp.getgrgid(gid).gr_name
    return ["setpriv", "--reuid", SERVICE_USER, "--regid", group, "--init-groups", "--"]


def data_dir(run_dir: Path) -> Path:
    """Where this state dir's cluster lives (see the module docstring for why root differs)."""
    if not _as_root():
        return run_dir / "postgres-data"
    key = hashlib.sha256(str(paths.state_dir().resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"ctt-postgres-{key}"


def initialized(data: Path) -> bool:
    return (data / "PG_VERSION").is_file()


def init_cluster(server: Server, data: Path, *, user: str) -> None:
    """A fresh cluster in ``data`` whose superuser is ``user``, trusted on local connections."""
    remove_data(data)
    data.mkdir(parents=True, mode=0o700)
    if _as_root():
        uid, gid = _service_ids()
        os.chown(data, uid, gid)
    cmd = [
        *run_as(),
        str(server.initdb),
        "-D",
        str(data),
        "-U",
        user,
        "--auth=trust",
        "--encoding=UTF8",
        "--no-locale",
        "--no-sync",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    if out.returncode != 0:
        raise InfraError(
            f"initdb failed: {(out.stdout + out.stderr).strip()[-400:]}",
            hint=f"command: {' '.join(cmd)}",
        )


_SOCKET_DIR_MAX = 107 - len("/.s.PGSQL.65535")


def command(server: Server, data: Path, port: int) -> list[str]:
    """The server in the foreground (ctt supervises it), tuned for throwaway test data."""
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        # ctt connects over TCP; the socket is for `psql -h <data dir>`. A socket path has at
        # most 107 bytes (with `/.s.PGSQL.<port>`): a deeper state dir gets none, or the
        # server would refuse to start ("could not create any Unix-domain sockets").
        "unix_socket_directories": str(data) if len(str(data)) <= _SOCKET_DIR_MAX else "",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "100",
        "shared_buffers": "64MB",
        "logging_collector": "off",
    }
    flags = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
    return [*run_as(), str(server.postgres), "-D", str(data), *flags]


def ready(port: int, *, user: str, database: str, create: bool = False) -> bool:
    """``SELECT 1`` answers in ``database``; with ``create`` a missing database is created first."""
    import psycopg

    conninfo = f"host=127.0.0.1 port={port} user={user} connect_timeout=2"
    try:
        with psycopg.connect(f"{conninfo} dbname={database}") as conn:
            row = conn.execute("SELECT 1").fetchone()
            return row == (1,)
    except psycopg.OperationalError as exc:
        if not create or "does not exist" not in str(exc):
            return False
    try:
        with psycopg.connect(f"{conninfo} dbname=postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
    except psycopg.Error:
        return False
    return ready(port, user=user, database=database)


def remove_data(data: Path) -> None:
    """Delete a cluster's data directory (the server must be stopped)."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(data)

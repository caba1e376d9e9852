"""``ctt.stack.postgres``: finding Debian's server, the root/non-root split, the command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ctt.errors import ExitCode
from ctt.stack import paths, ports, postgres


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CTT_POSTGRES_BIN", raising=False)


def _fake_server(root: Path, major: int, *, version: str | None = None) -> Path:
    bin_dir = root / str(major) / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "initdb").write_text("#!/bin/sh\n")
    server = bin_dir / "postgres"
    server.write_text(f"#!/bin/sh\necho 'postgres (PostgreSQL) {version or f'{major}.3'} (Debian)'\n")
    server.chmod(0o755)
    return bin_dir


def test_the_newest_major_at_or_above_the_minimum_is_found(tmp_path: Path) -> None:
    _fake_server(tmp_path, 12)
    _fake_server(tmp_path, 15, version="15.18")
    newest = _fake_server(tmp_path, 17)
    found = postgres.find_server(13, deb_root=tmp_path)
    assert (found.bin_dir, found.major, found.version) == (newest, 17, "17.3")
    assert found.initdb == newest / "initdb"


def test_too_old_or_missing_server_says_how_to_install_it(tmp_path: Path) -> None:
    _fake_server(tmp_path, 12)
    with pytest.raises(postgres.PostgresMissingError) as err:
        postgres.find_server(13, deb_root=tmp_path)
    assert "no PostgreSQL 13+ server" in err.value.message
    assert "apt-get install postgresql" in (err.value.hint or "")
    assert err.value.exit_code is ExitCode.INFRA


def test_env_override_names_the_bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = _fake_server(tmp_path / "own", 16)
    monkeypatch.setenv("CTT_POSTGRES_BIN", str(own))
    assert postgres.find_server(13, deb_root=tmp_path / "none").bin_dir == own


def test_data_dir_is_in_the_run_dir_unless_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert postgres.data_dir(tmp_path / "run") == tmp_path / "run" / "postgres-data"
    assert postgres.run_as() == []
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    as_root = postgres.data_dir(tmp_path / "run")
    assert as_root.name.startswith("ctt-postgres-") and not as_root.is_relative_to(paths.state_dir())
    monkeypatch.setenv("CTT_STATE_DIR", str(tmp_path / "other"))
    assert postgres.data_dir(tmp_path / "run") != as_root  # one cluster per state dir


def test_command_listens_on_localhost_with_the_socket_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    server = postgres.Server(bin_dir=tmp_path, major=15, version="15.18")
    cmd = postgres.command(server, tmp_path / "data", 6543)
    assert cmd[:3] == [str(tmp_path / "postgres"), "-D", str(tmp_path / "data")]
    settings = dict(cmd[i + 1].split("=", 1) for i, arg in enumerate(cmd) if arg == "-c")
    assert settings["listen_addresses"] == "127.0.0.1" and settings["port"] == "6543"
    assert settings["unix_socket_directories"] == str(tmp_path / "data")
    assert settings["fsync"] == "off"


def test_ready_is_false_when_nothing_listens() -> None:
    (port,) = ports.pick_free(1)
    assert postgres.ready(port, user="ctt", database="ctt", create=True) is False


def test_doctor_names_the_server_or_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ctt.stack import doctor

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("CTT_POSTGRES_BIN", str(_fake_server(tmp_path, 16)))
    check = doctor._postgres()
    assert check.ok and "PostgreSQL 16.3" in check.detail and check.advice is None
    monkeypatch.setenv("CTT_POSTGRES_BIN", str(tmp_path / "empty"))
    missing = doctor._postgres()
    assert missing.ok  # the default stack does not need it: advice, not a failure
    assert "not available for --with postgres" in missing.detail
    assert "apt-get install postgresql" in (missing.advice or "")
    assert {"connect", "postgres"} <= {c.__name__.strip("_") for c in doctor.CHECKS}


def test_a_data_dir_too_deep_for_a_socket_path_gets_tcp_only(tmp_path: Path) -> None:
    """A unix socket path holds at most 107 bytes; past that PostgreSQL would not start."""
    server = postgres.Server(bin_dir=tmp_path, major=15, version="15.18")
    deep = tmp_path / ("d" * 120)
    cmd = postgres.command(server, deep, 6543)
    settings = dict(cmd[i + 1].split("=", 1) for i, arg in enumerate(cmd) if arg == "-c")
    assert settings["unix_socket_directories"] == ""
    assert settings["listen_addresses"] == "127.0.0.1"

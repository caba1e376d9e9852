"""Starting and stopping the stack's JVMs as detached process groups."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

Check = Callable[[], bool]


def spawn(
    cmd: Sequence[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> psutil.Process:
    """Start ``cmd`` in its own session (it outlives the CLI); stdout+stderr go to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    return psutil.Process(proc.pid)


def terminate(
    pids: Sequence[int],
    *,
    deadline_s: float = 15.0,
    signals: Mapping[int, signal.Signals] | None = None,
) -> list[int]:
    """SIGTERM each process group, wait up to ``deadline_s``, then SIGKILL. Returns pids that needed SIGKILL.

    ``signals`` sends another first signal to some pids (PostgreSQL shuts down fast on SIGINT).
    """
    procs: list[psutil.Process] = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            procs.append(psutil.Process(pid))
    for p in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, (signals or {}).get(p.pid, signal.SIGTERM))
    _gone, alive = psutil.wait_procs(procs, timeout=deadline_s)
    killed = []
    for p in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        killed.append(p.pid)
    psutil.wait_procs(alive, timeout=5)
    return killed


def kill(pid: int) -> None:
    """SIGKILL one process (not its group: a JVM's children are its own) and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).wait(timeout=10)


def started_s(proc: psutil.Process) -> float:
    """Seconds from boot to the process's start: its identity across pid reuse.

    Unlike ``create_time()`` (boot time + this, read from the wall clock on every call) it does
    not move when the clock is stepped: a VM resumed from a snapshot, or NTP, once shifted every
    recorded start by seconds and made a whole live stack look dead. Linux keeps it in
    ``/proc/<pid>/stat`` (field 22, in clock ticks); elsewhere the wall-clock start is used.
    """
    try:
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
    except OSError:
        return proc.create_time()
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def tail(path: Path, lines: int = 20) -> list[str]:
    """Last ``lines`` lines of a log file (reads only the end of big files)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def wait_until(check: Check, *, deadline_s: float, interval_s: float = 0.2) -> bool:
    """Poll ``check`` until it returns True or the deadline passes."""
    end = time.monotonic() + deadline_s
    while True:
        if check():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(interval_s)

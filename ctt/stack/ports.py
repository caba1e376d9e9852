"""Free ports on 127.0.0.1, and who holds a port that is taken."""

from __future__ import annotations

import contextlib
import socket

import psutil


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_free(count: int) -> list[int]:
    """``count`` distinct ports the OS says are free right now (all bound at once, then released)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def owner(port: int) -> str | None:
    """``"java (pid 123)"`` for the process listening on ``port``, when the OS lets us see it."""
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                if conn.pid is None:
                    return None
                with contextlib.suppress(psutil.Error):
                    return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
                return f"pid {conn.pid}"
    return None

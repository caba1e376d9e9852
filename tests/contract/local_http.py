"""One threaded HTTP server on 127.0.0.1 for an in-memory app: the contract worlds' servers.

An app answers ``handle(method, path, headers, body) -> (status, body bytes,
headers)``; :class:`LocalServer` runs it on a free port until :meth:`close`.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

__all__ = ["HttpApp", "LocalServer"]


class HttpApp(Protocol):
    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]: ...


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _any(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, data, extra = self.server.app.handle(self.command, self.path, headers, body)
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: HttpApp


class LocalServer:
    """Serves ``app`` on 127.0.0.1 and a free port (:attr:`url`) until :meth:`close`."""

    def __init__(self, app: HttpApp) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.app = app
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

"""A TLS listener presenting a certificate of a CA from ``ctt.stack.certs``, without a JVM.

It stands where a broker's SASL_SSL/SSL listener would for a client's handshake (Python's
``ssl`` or librdkafka): it completes or refuses the handshake, then closes, and accepts
the next connection until closed (librdkafka reconnects after each refusal).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ctt.stack import certs


class TlsServer:
    def __init__(self, tls: certs.TlsFiles, work: Path, *, greeting: bytes = b"ok") -> None:
        key, leaf, _chain = pkcs12.load_key_and_certificates(
            tls.broker.read_bytes(), tls.password().encode()
        )
        assert key is not None and leaf is not None
        pem = work / "server.pem"
        pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + leaf.public_bytes(serialization.Encoding.PEM)
        )
        self.ca = tls.ca
        self._greeting = greeting
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(pem)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.address = f"127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError), self._ctx.wrap_socket(conn, server_side=True) as c:
                c.sendall(self._greeting)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@contextlib.contextmanager
def tls_server(tls: certs.TlsFiles, work: Path) -> Iterator[TlsServer]:
    server = TlsServer(tls, work)
    try:
        yield server
    finally:
        server.close()

"""One TLS context per process, shared by every HTTP client ctt opens.

httpx builds a new ``ssl.SSLContext`` for each ``Client``, loading certifi's CA bundle
(about 30 ms of CPU). A run opens a gateway and a REST client per test, so on a 2-core
machine running the shipped specs that was ~3 CPU-seconds taken from the stack's JVMs.
The context is built by httpx's own function, so ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``
are honoured as before; a context is safe to share between threads.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def shared_context() -> ssl.SSLContext:
    """The verifying client context, built on first use."""
    return httpx.create_ssl_context()

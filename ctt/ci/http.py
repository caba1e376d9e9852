"""HTTP for ctt's integrations (GitLab, Slack, Teams, pushgateway, OTLP): retries and secrecy.

One rule set for every outgoing call: a 429 or 5xx answer (or a dropped connection) is retried
with exponential backoff, waiting what ``Retry-After`` asks when the server says so, up to a
bounded number of attempts; any other answer is final. Nothing secret reaches a message: a
target is named by its label and host only (a Slack or Teams webhook URL *is* its secret), and
:func:`redact` strips the tokens a caller registered from any text that leaves this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ctt.errors import InfraError

__all__ = ["HttpTarget", "RetryPolicy", "redact", "retry_after_seconds", "send"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: ``attempts`` in all, backoff doubling from ``base``."""

    attempts: int = 5
    base: float = 0.5
    max_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before attempt ``attempt + 1``: the server's Retry-After, else the backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        return min(self.base * 2.0 ** (attempt - 1), self.max_wait)


@dataclass(frozen=True)
class HttpTarget:
    """Where a call goes, and what must never be printed about it."""

    label: str  # "Slack webhook", "GitLab API"
    secrets: tuple[str, ...] = ()

    def name(self, url: str | httpx.URL) -> str:
        host = httpx.URL(str(url)).host or "?"
        return f"{self.label} ({host})"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: an integer, or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _short(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f"{response.status_code} {text}".strip()


def send(
    client: httpx.Client,
    method: str,
    url: str,
    target: HttpTarget,
    *,
    policy: RetryPolicy | None = None,
    expect: Iterable[int] = (200, 201, 202, 204),
    **kwargs: Any,
) -> httpx.Response:
    """One request, retried on 429/5xx and on connection errors; InfraError when it fails.

    The error names the target (label and host) and the server's short answer, secrets
    redacted; a 4xx other than 429 fails at once (retrying cannot fix a bad token or body).
    """
    policy = policy or RetryPolicy()
    ok = set(expect)
    last = ""
    for attempt in range(1, policy.attempts + 1):
        retry_after: float | None = None
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            last = f"{exc.__class__.__name__}: {exc}"
        else:
            if response.status_code in ok:
                return response
            last = _short(response)
            if response.status_code not in RETRY_STATUSES:
                raise InfraError(
                    redact(f"{target.name(url)} answered {last}", target.secrets),
                    hint=_hint(response.status_code),
                )
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if attempt < policy.attempts:
            policy.sleep(policy.wait(attempt, retry_after))
    raise InfraError(
        redact(
            f"{target.name(url)} failed after {policy.attempts} attempts: {last}", target.secrets
        ),
        hint="the service is down or rate-limiting; retry later",
    )


def _hint(status: int) -> str | None:
    if status in (401, 403):
        return "check the token (its variable, scope and expiry)"
    if status == 404:
        return "check the project, id or webhook URL"
    if status in (400, 422):
        return "the service rejected the request body"
    return None

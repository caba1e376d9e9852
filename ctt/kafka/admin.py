"""Topic administration over confluent-kafka, with its errors translated at the edge."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from ctt.errors import InfraError

_log = logging.getLogger("ctt.kafka")
_log.addHandler(logging.NullHandler())
_log.propagate = False


class KafkaError(InfraError):
    """Kafka could not do what ctt asked."""


def client_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "logger": _log, **extra}


class _Causes:
    """The client's last connection error (TLS handshake, SASL login, DNS).

    librdkafka retries a broker it cannot connect to quietly; a request then ends in
    "no answer" or "transport failure", and only its error callback says why. That cause
    is what a user can act on (a wrong CA file, a wrong password), so it goes into the
    message of the request that failed.
    """

    FINAL = frozenset({"_SSL", "_AUTHENTICATION"})  # retrying will not mend these

    def __init__(self) -> None:
        self.last: str | None = None
        self.final = False

    def __call__(self, err: Any) -> None:
        if err.name() != "_ALL_BROKERS_DOWN":  # says nothing the request's error does not
            self.last = str(err.str())
            self.final = err.name() in self.FINAL


def _settle(
    fut: Future[Any], *, timeout_s: float, ignore: str, what: str, why: Callable[[], str]
) -> bool:
    """Wait for one admin request: True when done, False for the ``ignore``d error.

    A broker that does not answer within the timeout (restarting, or gone) is a KafkaError
    like any other, so the runner records it instead of losing the run's results.
    """
    try:
        fut.result(timeout=timeout_s)
    except FutureTimeout as exc:
        raise KafkaError(
            f"cannot {what}: no answer from Kafka within {timeout_s:.0f}s{why()}"
        ) from exc
    except KafkaException as exc:
        err = exc.args[0]
        if getattr(err, "name", lambda: "")() != ignore:
            raise KafkaError(f"cannot {what}: {err}") from exc
        return False
    return True


class TopicAdmin:
    def __init__(
        self, bootstrap: str, *, timeout_s: float = 30.0, config: dict[str, str] | None = None
    ) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self._causes = _Causes()
        self._protocol = (config or {}).get("security.protocol", "PLAINTEXT")
        self._admin = AdminClient(client_config(bootstrap, **(config or {}), error_cb=self._causes))

    def _why(self) -> str:
        """``": <the last connection error>"``, or nothing: why a request got no answer."""
        self._admin.poll(0)  # serves the error callbacks queued meanwhile
        return f": {self._causes.last}" if self._causes.last else ""

    def create(self, topics: dict[str, int], *, config: dict[str, str] | None = None) -> None:
        """Create topics (name -> partitions); an existing topic is fine.

        Test data carries event times from the past, so topics keep records regardless of
        age (``retention.ms=-1``) unless ``config`` says otherwise.
        """
        if not topics:
            return
        conf = {"retention.ms": "-1", **(config or {})}
        new = [
            NewTopic(t, num_partitions=p, replication_factor=1, config=conf)
            for t, p in topics.items()
        ]
        futures = self._admin.create_topics(new, operation_timeout=self.timeout_s)
        for topic, fut in futures.items():
            _settle(
                fut,
                timeout_s=self.timeout_s,
                ignore="TOPIC_ALREADY_EXISTS",
                what=f"create topic {topic}",
                why=self._why,
            )
        self._await_metadata(set(topics), present=True)

    def _await_metadata(self, names: set[str], *, present: bool) -> None:
        """A created (deleted) topic is not at once listed (gone): poll metadata until it is."""
        end = time.monotonic() + self.timeout_s
        while True:
            try:
                md = self._admin.list_topics(timeout=self.timeout_s)
                listed = {n for n in names if n in md.topics and md.topics[n].error is None}
            except KafkaException:
                listed = set() if present else names
            pending = names - listed if present else listed
            if not pending:
                return
            if time.monotonic() > end:
                state = "visible" if present else "gone"
                raise KafkaError(
                    f"topics not {state} after {self.timeout_s:.0f}s: {', '.join(sorted(pending))}"
                )
            time.sleep(0.05)

    def delete(self, topics: Iterable[str]) -> list[str]:
        """Delete topics; missing ones are ignored. Returns those deleted."""
        names = list(topics)
        if not names:
            return []
        futures = self._admin.delete_topics(names, operation_timeout=self.timeout_s)
        deleted = [
            topic
            for topic, fut in futures.items()
            if _settle(
                fut,
                timeout_s=self.timeout_s,
                ignore="UNKNOWN_TOPIC_OR_PART",
                what=f"delete topic {topic}",
                why=self._why,
            )
        ]
        self._await_metadata(set(names), present=False)
        return deleted

    def reach(self, timeout_s: float) -> None:
        """Read the cluster's metadata once: the brokers answer and TLS and SASL pass.

        Polled a second at a time, so a refused certificate or login (which retrying
        cannot mend) fails at once, and a broker still starting is given the deadline.
        """
        end = time.monotonic() + timeout_s
        while True:
            try:
                self._admin.list_topics(timeout=min(1.0, max(0.1, end - time.monotonic())))
                return
            except KafkaException as exc:
                cause = self._why()
                if self._causes.final or time.monotonic() >= end:
                    raise KafkaError(
                        f"cannot reach Kafka at {self.bootstrap} ({self._protocol})"
                        f"{cause or f': {exc.args[0]}'}"
                    ) from exc

    def list(self) -> dict[str, int]:
        """Topic name -> partition count (internal topics excluded)."""
        try:
            md = self._admin.list_topics(timeout=self.timeout_s)
        except KafkaException as exc:
            cause = self._why() or f": {exc.args[0]}"
            raise KafkaError(f"cannot list topics on {self.bootstrap}{cause}") from exc
        return {
            name: len(t.partitions) for name, t in md.topics.items() if not name.startswith("__")
        }

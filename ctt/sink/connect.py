"""Kafka Connect's REST API: create, inspect and delete connectors (httpx, errors translated here).

Only what a test needs: ``POST /connectors``, ``GET /connectors/{name}/status``,
``DELETE /connectors/{name}`` and the list of names for cleanup. A refused config
(400) is the spec's problem, :class:`ConnectorRejected`; anything else unexpected
(unreachable worker, 5xx) is :class:`ConnectError`, infrastructure. A 409 means the
worker group is rebalancing and is retried until the caller's deadline.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

import httpx
from pydantic import BaseModel, Field

from ctt.errors import ConfigError, CttError, ExitCode, InfraError
from ctt.polling import Backoff
from ctt.tls import shared_context

_HINT = "is Kafka Connect running? `ctt stack status`, `ctt stack logs connect`"


class ConnectError(InfraError):
    """The Connect worker could not be reached or answered something unexpected."""


class ConnectorRejected(ConfigError):
    """Connect refused the connector's configuration (its message says which setting)."""


class State(StrEnum):
    UNASSIGNED = "UNASSIGNED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    RESTARTING = "RESTARTING"


class TaskStatus(BaseModel):
    id: int
    state: State
    worker_id: str | None = None
    trace: str | None = None


class ConnectorStatus(BaseModel):
    """``GET /connectors/{name}/status``: the connector's state and each task's."""

    name: str
    state: State
    trace: str | None = Field(None, description="the connector's own failure, if any")
    tasks: list[TaskStatus] = Field(default_factory=list)

    @property
    def failed(self) -> TaskStatus | None:
        """The first failed task (or the connector itself, as task -1), else None."""
        for task in self.tasks:
            if task.state is State.FAILED:
                return task
        if self.state is State.FAILED:
            return TaskStatus(id=-1, state=State.FAILED, trace=self.trace)
        return None

    @property
    def running(self) -> bool:
        return (
            self.state is State.RUNNING
            and bool(self.tasks)
            and all(t.state is State.RUNNING for t in self.tasks)
        )

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ConnectorStatus:
        conn = data.get("connector") or {}
        return cls(
            name=str(data.get("name", "")),
            state=State(conn.get("state", "UNASSIGNED")),
            trace=conn.get("trace"),
            tasks=[
                TaskStatus(
                    id=int(t.get("id", 0)),
                    state=State(t.get("state", "UNASSIGNED")),
                    worker_id=t.get("worker_id"),
                    trace=t.get("trace"),
                )
                for t in data.get("tasks") or []
            ],
        )


class ConnectClient:
    """A thin client of one Connect worker's REST API (``base_url`` from the stack state)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, transport=transport, verify=shared_context()
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ConnectError(
                f"Kafka Connect at {self.base_url}: {type(exc).__name__}: {exc}", hint=_HINT
            ) from exc

    @staticmethod
    def _message(resp: httpx.Response) -> str:
        try:
            return str(resp.json().get("message") or resp.text)
        except ValueError:
            return resp.text[:500]

    def create(self, name: str, config: dict[str, str], *, deadline_s: float = 30.0) -> None:
        """Create connector ``name``; a rebalancing worker (409) is asked again until the deadline."""
        end = time.monotonic() + deadline_s
        backoff = Backoff(1.0)
        while True:
            resp = self._call("POST", "/connectors", json={"name": name, "config": config})
            if resp.status_code in (200, 201):
                return
            if resp.status_code == 409 and time.monotonic() < end:
                backoff.wait()  # the worker group is rebalancing: a poll interval, then again
                continue
            if resp.status_code == 400:
                raise ConnectorRejected(
                    f"Kafka Connect refused the sink connector: {self._message(resp)}",
                    hint="check `sink.config:` in the spec (docs/spec-reference.md, sink:)",
                )
            raise ConnectError(
                f"Kafka Connect answered {resp.status_code} creating {name}: {self._message(resp)}",
                hint=_HINT,
            )

    def status(self, name: str) -> ConnectorStatus | None:
        """The connector's status; None while Connect does not know it (yet)."""
        resp = self._call("GET", f"/connectors/{name}/status")
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise ConnectError(
                f"Kafka Connect answered {resp.status_code} for {name}: {self._message(resp)}",
                hint=_HINT,
            )
        return ConnectorStatus.from_api(resp.json())

    def stop(self, name: str, *, deadline_s: float = 30.0) -> bool:
        """Stop the connector and wait until its tasks are gone; False when it was not there.

        ``DELETE`` alone returns while the tasks still shut down, and a task that writes its
        first batch then creates the target table after ctt dropped it. A stopped connector
        (``PUT /connectors/<name>/stop``, Connect 3.5+) reports ``STOPPED`` with no tasks only
        once every task has stopped.
        """
        resp = self._call("PUT", f"/connectors/{name}/stop")
        if resp.status_code == 404:
            return False
        if resp.status_code not in (200, 202, 204):
            raise ConnectError(
                f"Kafka Connect answered {resp.status_code} stopping {name}: {self._message(resp)}",
                hint=_HINT,
            )
        end = time.monotonic() + deadline_s
        backoff = Backoff(0.5)
        while True:
            st = self.status(name)
            if st is None or (st.state is State.STOPPED and not st.tasks):
                return st is not None
            if time.monotonic() > end:
                raise ConnectError(
                    f"the tasks of connector {name} did not stop within {deadline_s:.0f}s",
                    hint=_HINT,
                )
            backoff.wait()

    def remove(self, name: str) -> bool:
        """Stop the connector's tasks, then delete it: nothing of it writes any more."""
        self.stop(name)
        return self.delete(name)

    def delete(self, name: str) -> bool:
        """Delete the connector; False when it was not there. Idempotent."""
        resp = self._call("DELETE", f"/connectors/{name}")
        if resp.status_code in (200, 204):
            return True
        if resp.status_code == 404:
            return False
        raise ConnectError(
            f"Kafka Connect answered {resp.status_code} deleting {name}: {self._message(resp)}",
            hint=_HINT,
        )

    def config(self, name: str) -> dict[str, str] | None:
        """The connector's settings; None when it is not there."""
        resp = self._call("GET", f"/connectors/{name}/config")
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise ConnectError(f"Kafka Connect answered {resp.status_code} for {name}/config")
        return {str(k): str(v) for k, v in resp.json().items()}

    def names(self) -> list[str]:
        resp = self._call("GET", "/connectors")
        if resp.status_code != 200:
            raise ConnectError(f"Kafka Connect answered {resp.status_code} listing connectors")
        return [str(n) for n in resp.json()]

    def close(self) -> None:
        self._http.close()


__all__ = [
    "ConnectClient",
    "ConnectError",
    "ConnectorRejected",
    "ConnectorStatus",
    "SinkFailed",
    "State",
    "TaskStatus",
    "cause_chain",
]


def cause_chain(trace: str) -> list[str]:
    """A Java trace's exceptions, outermost first: its first line and every ``Caused by:``."""
    lines = trace.strip().splitlines()
    chain = lines[:1] + [
        ln.strip()[len("Caused by: ") :] for ln in lines if ln.strip().startswith("Caused by: ")
    ]
    return chain or ["no trace recorded"]


class SinkFailed(CttError):
    """The connector (or one of its tasks) FAILED: a failed test, with the task's trace."""

    exit_code = ExitCode.TESTS_FAILED

    def __init__(self, connector: str, task: TaskStatus) -> None:
        trace = (task.trace or "no trace recorded").strip()
        who = "the connector" if task.id < 0 else f"task {task.id}"
        super().__init__(
            f"sink connector {connector}: {who} FAILED: {cause_chain(trace)[-1]}",
            hint="the trace is in the test's log; `ctt stack logs connect` has the worker's",
        )
        self.connector = connector
        self.trace = trace

"""Client of the Flink JobManager REST API: jobs, savepoints, exceptions, checkpoints, metrics."""

from __future__ import annotations

import time
from typing import Any

import httpx

from ctt.engines.base import EngineError
from ctt.polling import Backoff
from ctt.tls import shared_context


class FlinkRest:
    def __init__(
        self, base_url: str, *, timeout_s: float = 15.0, headers: dict[str, str] | None = None
    ) -> None:
        """``headers``: sent with every call (``Authorization`` for a REST API behind a proxy)."""
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout_s, headers=headers, verify=shared_context()
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise EngineError(f"Flink REST unreachable at {self._http.base_url}: {exc}") from exc
        if resp.status_code in (401, 403):
            raise EngineError(
                f"Flink REST at {self._http.base_url} refused ctt: HTTP {resp.status_code}",
                hint="check CTT_FLINK_REST_TOKEN (bearer) or CTT_FLINK_REST_USERNAME/PASSWORD "
                "(basic), or set flink.rest_auth: gateway",
            )
        if resp.status_code == 404:
            raise EngineError(f"Flink REST: {path} not found")
        if resp.status_code >= 400:
            raise EngineError(
                f"Flink REST {method} {path}: HTTP {resp.status_code}: {resp.text[:300]}",
                hint="see `ctt stack logs jobmanager`" if resp.status_code >= 500 else None,
            )
        try:
            return resp.json() if resp.content else {}
        except ValueError as exc:
            raise EngineError(f"Flink REST {method} {path}: not JSON: {resp.text[:200]!r}") from exc

    # -- jobs --------------------------------------------------------------------------------
    def overview(self) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", "/overview")
        return data

    def jobs(self) -> list[dict[str, Any]]:
        """All jobs with id, name, state and times."""
        data = self._call("GET", "/jobs/overview")
        jobs: list[dict[str, Any]] = data.get("jobs", [])
        return jobs

    def job(self, job_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", f"/jobs/{job_id}")
        return data

    def state(self, job_id: str) -> str:
        return str(self.job(job_id).get("state", "UNKNOWN"))

    def cancel(self, job_id: str) -> None:
        self._call("PATCH", f"/jobs/{job_id}", params={"mode": "cancel"})

    def stop_with_savepoint(
        self,
        job_id: str,
        target_dir: str | None = None,
        *,
        drain: bool = False,
        deadline_s: float = 60.0,
    ) -> str:
        """Stop the job after a savepoint; return the savepoint's location."""
        body: dict[str, Any] = {"drain": drain, "formatType": "CANONICAL"}
        if target_dir:
            body["targetDirectory"] = target_dir
        trigger = self._call("POST", f"/jobs/{job_id}/stop", json=body)["request-id"]
        end = time.monotonic() + deadline_s
        backoff = Backoff(0.2)
        while time.monotonic() < end:
            res = self._call("GET", f"/jobs/{job_id}/savepoints/{trigger}")
            if res.get("status", {}).get("id") == "COMPLETED":
                op = res.get("operation", {})
                if "failure-cause" in op:
                    cause = op["failure-cause"].get("stack-trace", "").splitlines()
                    raise EngineError(f"stop-with-savepoint failed: {cause[0] if cause else op}")
                return str(op.get("location"))
            backoff.wait()
        raise EngineError(
            f"stop-with-savepoint of {job_id} did not finish within {deadline_s:.0f}s"
        )

    def exception_history(self, job_id: str) -> list[dict[str, Any]]:
        """Entries of ``/jobs/:id/exceptions``, newest first, with stack traces."""
        data = self._call("GET", f"/jobs/{job_id}/exceptions")
        entries: list[dict[str, Any]] = data.get("exceptionHistory", {}).get("entries", [])
        return entries

    def exceptions(self, job_id: str) -> list[str]:
        """Root exceptions of the job, newest first, first line of each."""
        data = self._call("GET", f"/jobs/{job_id}/exceptions")
        out = []
        for entry in data.get("exceptionHistory", {}).get("entries", []):
            out.append(
                str(entry.get("exceptionName", ""))
                + ": "
                + str(entry.get("stacktrace", "")).split("\n", 1)[0]
            )
        if not out and data.get("root-exception"):
            out.append(str(data["root-exception"]).split("\n", 1)[0])
        return out

    def checkpoints(self, job_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", f"/jobs/{job_id}/checkpoints")
        return data

    def job_metrics(self, job_id: str, names: list[str]) -> dict[str, str]:
        """Job-level metric values (``numRestarts``, ...); absent names are left out."""
        data = self._call("GET", f"/jobs/{job_id}/metrics", params={"get": ",".join(names)})
        return {m["id"]: m.get("value", "") for m in data}

    def vertices(self, job_id: str) -> list[dict[str, Any]]:
        vs: list[dict[str, Any]] = self.job(job_id).get("vertices", [])
        return vs

    def vertex_metrics(
        self, job_id: str, vertex_id: str, names: list[str] | None = None
    ) -> dict[str, str]:
        """Metric values of a vertex; with no names, lists what exists (values empty)."""
        params = {"get": ",".join(names)} if names else None
        data = self._call("GET", f"/jobs/{job_id}/vertices/{vertex_id}/metrics", params=params)
        return {m["id"]: m.get("value", "") for m in data}

    def subtask_sums(self, job_id: str, vertex_id: str, names: list[str]) -> dict[str, float]:
        """Metrics summed over a vertex's subtasks (``numRecordsInPerSecond``, ...)."""
        data = self._call(
            "GET",
            f"/jobs/{job_id}/vertices/{vertex_id}/subtasks/metrics",
            params={"get": ",".join(names), "agg": "sum"},
        )
        return {m["id"]: float(m["sum"]) for m in data if "sum" in m}

    def backpressure(self, job_id: str, vertex_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call(
            "GET", f"/jobs/{job_id}/vertices/{vertex_id}/backpressure"
        )
        return data

    def watermarks(self, job_id: str, vertex_id: str) -> dict[str, int]:
        data = self._call("GET", f"/jobs/{job_id}/vertices/{vertex_id}/watermarks")
        return {m["id"]: int(float(m["value"])) for m in data}

    def close(self) -> None:
        self._http.close()

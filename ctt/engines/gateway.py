"""Client of the Flink SQL Gateway REST API (v3): sessions, statements, operations, result pages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import BaseModel

from ctt.engines.base import EngineError, StatementError
from ctt.polling import Backoff
from ctt.sql.statements import error_position
from ctt.tls import shared_context

_CAUSE = re.compile(r"Caused by: (?P<cls>[\w.$]+): (?P<msg>.*)")
# Exceptions whose message is the user's problem rather than the gateway's plumbing.
_USER_ERRORS = (
    "ValidationException",
    "SqlParserException",
    "SqlParseException",
    "TableException",
    "SqlValidatorException",
    "CalciteContextException",
    "ParseException",
    "CodeGenException",
)


def sql_error(errors: list[str]) -> StatementError | None:
    """The most useful single line of a gateway error that is the user's SQL's fault, or None.

    The gateway answers HTTP 500 both for a bad query and for its own trouble; only
    the exception chain tells them apart: a SQL error has one of ``_USER_ERRORS``.
    The message keeps Flink's ``line N, column M`` (inside the statement sent), which
    the runner maps to the user's file; ``sql_line`` is its line.
    """
    text = "\n".join(errors)
    causes = [(m["cls"], m["msg"].strip()) for m in _CAUSE.finditer(text)]
    user = [(c, m) for c, m in causes if c.rsplit(".", 1)[-1] in _USER_ERRORS]
    if not user:
        return None
    cls, msg = user[0]
    pos = error_position(msg)
    return StatementError(f"{cls.rsplit('.', 1)[-1]}: {msg}", sql_line=pos[0] if pos else None)


def gateway_error(status: int, errors: list[str], what: str) -> StatementError | EngineError:
    """A failed gateway call as ctt's error: the user's SQL (config) or the gateway (infra)."""
    rejected = sql_error(errors)
    if rejected is not None:
        return rejected
    text = "\n".join(errors)
    causes = [(m["cls"], m["msg"].strip()) for m in _CAUSE.finditer(text)]
    detail = (
        f"{causes[-1][0].rsplit('.', 1)[-1]}: {causes[-1][1]}"
        if causes
        else (errors[-1].splitlines()[0] if errors and errors[-1] else "no detail")
    )
    return EngineError(
        f"SQL Gateway {what}: HTTP {status}: {detail}",
        hint="see `ctt stack logs sql-gateway`" if status >= 500 else None,
    )


AUTH_HINT = (
    "check CTT_GATEWAY_TOKEN (bearer) or CTT_GATEWAY_USERNAME/PASSWORD (basic); "
    "docs/user-guide.md, 'Running against an existing cluster'"
)


class Page(BaseModel):
    result_type: str  # NOT_READY, PAYLOAD, EOS
    columns: list[str] = []
    rows: list[tuple[str, list[Any]]] = []  # (kind, fields)
    job_id: str | None = None
    next_uri: str | None = None


class SqlGateway:
    """One session on the gateway; statements run in it share catalog state (tables, SET)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        properties: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        session_name: str | None = None,
    ) -> None:
        """``headers``: sent with every call (``Authorization`` for a gateway behind a proxy);
        ``session_name``: the session's name (ctt's carry the run id)."""
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout_s, headers=headers, verify=shared_context()
        )
        body: dict[str, Any] = {"properties": properties or {}}
        if session_name:
            body["sessionName"] = session_name
        self.session = str(self._call("POST", "/v3/sessions", json=body)["sessionHandle"])

    # -- plumbing ----------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise EngineError(
                f"SQL Gateway unreachable at {self._http.base_url}: {exc}",
                hint="is the stack up? `ctt stack status`",
            ) from exc
        if resp.status_code in (401, 403):
            raise EngineError(
                f"SQL Gateway at {self._http.base_url} refused ctt: HTTP {resp.status_code}",
                hint=AUTH_HINT,
            )
        if resp.status_code >= 400:
            try:
                errors = [str(e) for e in resp.json().get("errors", [])]
            except (ValueError, AttributeError):  # not JSON, or not an object
                errors = [resp.text]
            raise gateway_error(resp.status_code, errors, f"{method} {path}")
        if not resp.content:
            return {}
        data: dict[str, Any] = resp.json()
        return data

    # -- statements --------------------------------------------------------------------------
    def submit(self, sql: str, config: dict[str, str] | None = None) -> str:
        body: dict[str, Any] = {"statement": sql}
        if config:
            body["executionConfig"] = config
        return str(
            self._call("POST", f"/v3/sessions/{self.session}/statements", json=body)[
                "operationHandle"
            ]
        )

    def status(self, op: str) -> str:
        return str(
            self._call("GET", f"/v3/sessions/{self.session}/operations/{op}/status")["status"]
        )

    def fetch(self, uri: str) -> Page:
        data = self._call("GET", uri)
        results = data.get("results") or {}
        return Page(
            result_type=data.get("resultType", "EOS"),
            columns=[c["name"] for c in results.get("columns", [])],
            rows=[(r.get("kind", "INSERT"), r.get("fields", [])) for r in results.get("data", [])],
            job_id=data.get("jobID"),
            next_uri=data.get("nextResultUri"),
        )

    def first_page_uri(self, op: str) -> str:
        return f"/v3/sessions/{self.session}/operations/{op}/result/0?rowFormat=JSON"

    def pages(
        self, op: str, *, poll_s: float = 0.2, deadline_s: float | None = None
    ) -> Iterator[Page]:
        """Follow ``nextResultUri`` until EOS; NOT_READY pages are polled (backing off to
        ``poll_s``), not returned."""
        uri: str | None = self.first_page_uri(op)
        end = None if deadline_s is None else time.monotonic() + deadline_s
        backoff = Backoff(poll_s)
        while uri:
            page = self.fetch(uri)
            if page.result_type == "NOT_READY":
                if end is not None and time.monotonic() > end:
                    return
                backoff.wait()
                uri = page.next_uri or uri
                continue
            yield page
            if page.result_type == "EOS":
                return
            uri = page.next_uri
            backoff = Backoff(poll_s)  # rows came: the next page may be as quick

    def execute(
        self, sql: str, *, deadline_s: float = 120.0, config: dict[str, str] | None = None
    ) -> Page:
        """Submit and wait for the first payload (DDL finishes; INSERT returns its job id)."""
        op = self.submit(sql, config)
        first = next(self.pages(op, deadline_s=deadline_s), None)
        if first is None:
            raise EngineError(f"statement gave no result within {deadline_s:.0f}s")
        return first

    def cancel(self, op: str) -> None:
        self._call("POST", f"/v3/sessions/{self.session}/operations/{op}/cancel")

    def close_operation(self, op: str) -> None:
        self._call("DELETE", f"/v3/sessions/{self.session}/operations/{op}/close")

    def close(self) -> None:
        try:
            self._call("DELETE", f"/v3/sessions/{self.session}")
        except (EngineError, StatementError):
            pass
        finally:
            self._http.close()

"""An in-process Confluent Cloud stand-in whose every request and response is checked
against Confluent's published OpenAPI specs.

The server keeps statements in memory and walks them through their phases; it
answers the statements API (``/sql/v1``), compute pools (``/fcpm/v2``) and the
Metrics API (``/v2/metrics``). Each incoming request is validated with
openapi-core against the spec that declares its path (path, method, query,
headers, body); each response is validated before it is sent. Anything that
does not match is recorded in :attr:`ContractServer.violations`, which the
test fixture asserts is empty: the client cannot pass by talking to a server
that is more lenient than the spec, and the server cannot drift from it.

The specs contain a few self-contradictions that no real server can satisfy;
:data:`ERRATA` patches exactly those in memory, each with the reason, and a
test fails as soon as an erratum no longer applies (upstream fixed it).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import Headers, ImmutableMultiDict

from ctt.engines.confluent_dialect import statement_kind
from tests.contract.executor import Execution, LocalExecutor, Registry
from tests.contract.local_http import LocalServer
from tests.contract.schema_registry import API_KEY, API_SECRET, RegistryServer

_OP_CODES = {"+I": 0, "-U": 1, "+U": 2, "-D": 3}

SPEC_FILES = ("flink-gateway-openapi.yaml", "fcpm-openapi.yaml", "metrics-openapi.yaml")
PREFIXES = {
    "/sql/": "flink-gateway-openapi.yaml",
    "/fcpm/": "fcpm-openapi.yaml",
    "/v2/metrics/": "metrics-openapi.yaml",
}
STMT_RE = re.compile(
    r"^/sql/v1/organizations/(?P<org>[^/]+)/environments/(?P<env>[^/]+)/statements"
    r"(?:/(?P<name>[^/]+)(?P<sub>/results|/exceptions)?)?$"
)


# --------------------------------------------------------------------------- errata


@dataclass(frozen=True)
class Erratum:
    spec: str
    why: str
    apply: Callable[[dict[str, Any]], bool]  # patches in place; False if the quirk is gone


def _drop_required_data(doc: dict[str, Any]) -> bool:
    schema = doc["components"]["schemas"]["sql.v1.StatementResult"]
    if "data" not in schema.get("required", []) or "data" in schema.get("properties", {}):
        return False
    schema["required"] = [r for r in schema["required"] if r != "data"]
    return True


def _writable_statement_meta(doc: dict[str, Any]) -> bool:
    schema = doc["components"]["schemas"]["StatementObjectMeta"]
    if not schema.get("readOnly"):
        return False
    del schema["readOnly"]
    return True


def _query_response_any_of(doc: dict[str, Any]) -> bool:
    schema = doc["components"]["schemas"]["QueryResponse"]
    if "oneOf" not in schema:
        return False
    schema["anyOf"] = schema.pop("oneOf")
    return True


def _put_declares_409(doc: dict[str, Any]) -> bool:
    put = doc["paths"][
        "/sql/v1/organizations/{organization_id}/environments/{environment_id}/statements/"
        "{statement_name}"
    ]["put"]
    if "409" in put["responses"] or "409 Conflict" not in put["description"]:
        return False
    put["responses"]["409"] = {"$ref": "#/components/responses/ConflictError"}
    return True


ERRATA = (
    Erratum(
        "flink-gateway-openapi.yaml",
        "sql.v1.StatementResult requires a top-level `data` it does not define; result "
        "pages carry their rows in `results.data` (which the 200 response requires)",
        _drop_required_data,
    ),
    Erratum(
        "flink-gateway-openapi.yaml",
        "StatementObjectMeta is readOnly, yet the PUT (stop/resume) body requires "
        "metadata.resource_version: a request validator would reject every update",
        _writable_statement_meta,
    ),
    Erratum(
        "flink-gateway-openapi.yaml",
        "the PUT's description says a stale resource_version fails with 409 Conflict "
        "(re-read and retry), but its responses do not list 409",
        _put_declares_409,
    ),
    Erratum(
        "metrics-openapi.yaml",
        "QueryResponse is oneOf Flat/Grouped, and an empty result {'data': []} matches both, "
        "so the valid answer 'no points yet' fails oneOf",
        _query_response_any_of,
    ),
)


def load_specs(spec_dir: Path) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for name in SPEC_FILES:
        with (spec_dir / name).open() as fh:
            docs[name] = yaml.load(fh, Loader=loader)
    return docs


def patched(docs: dict[str, dict[str, Any]]) -> dict[str, OpenAPI]:
    out = {}
    for name, doc in docs.items():
        doc = copy.deepcopy(doc)
        for erratum in ERRATA:
            if erratum.spec == name:
                erratum.apply(doc)
        out[name] = OpenAPI.from_dict(doc)
    return out


# --------------------------------------------------------------------------- state


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Stored:
    name: str
    body: dict[str, Any]
    phases: list[str]  # remaining walk; the last one sticks
    detail: str | None = None
    version: int = 1
    created_at: str = field(default_factory=_now)
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    deleted_gets: int | None = None  # GETs left before 404 once deleted
    execution: Execution | None = None  # runs on the local stack (with an executor)

    @property
    def phase(self) -> str:
        if self.execution is not None:
            return self.execution.phase().value
        return self.phases[0]

    def advance(self) -> None:
        if len(self.phases) > 1 and self.execution is None:
            self.phases.pop(0)


@dataclass
class Injection:
    method: str
    path_re: str
    status: int
    times: int


class ContractApp:
    """The in-memory service; thread-safe behind one lock."""

    def __init__(
        self,
        apis: dict[str, OpenAPI],
        docs: dict[str, dict[str, Any]],
        executor: LocalExecutor | None = None,
    ) -> None:
        self.executor = executor
        # phases (and detail) for every job statement instead of running it: fault tests
        self.job_script: tuple[list[str], str | None] | None = None
        self.apis = apis
        self.servers = {name: doc["servers"][0]["url"] for name, doc in docs.items()}
        self.base = ""
        self.lock = threading.Lock()
        self.statements: dict[str, Stored] = {}
        self.results: dict[str, list[list[dict[str, Any]]]] = {}
        self.scripts: dict[str, list[str]] = {}
        self.conflicts: dict[str, int] = {}
        self.injections: list[Injection] = []
        self.metrics: dict[str, list[dict[str, Any]]] = {}
        self.pools: dict[str, dict[str, Any]] = {}
        self.violations: list[str] = []
        self.calls: list[tuple[str, str, int]] = []
        self.created: list[dict[str, Any]] = []  # every accepted create's body, in order
        self.delete_lag = 2
        self.page_size_cap = 100

    # -- test controls ----------------------------------------------------------

    def script(self, name: str, phases: list[str], detail: str | None = None) -> None:
        self.scripts[name] = list(phases)
        if detail:
            self.scripts[name + "#detail"] = [detail]

    def inject(self, method: str, path_re: str, status: int = 429, times: int = 1) -> None:
        self.injections.append(Injection(method, path_re, status, times))

    def vanish(self, predicate: Callable[[Stored], bool]) -> list[str]:
        """Delete matching statements at once, as someone else would (404 from then on)."""
        with self.lock:
            gone = [n for n, s in self.statements.items() if predicate(s)]
            for name in gone:
                stored = self.statements.pop(name)
                if stored.execution is not None:
                    stored.execution.delete()
            return gone

    def jobs(self) -> list[Stored]:
        """The job statements (INSERT INTO, EXECUTE STATEMENT SET) the server holds."""
        with self.lock:
            return [s for s in self.statements.values() if _is_job(s)]

    # -- plumbing -----------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        spec = next((s for p, s in PREFIXES.items() if path.startswith(p)), None)
        with self.lock:
            if spec is None:
                self.violations.append(f"{method} {path}: no spec declares this path")
                return self._send(None, None, 404, self._failure(404, "not in any spec"))
            request = MockRequest(
                self.servers[spec],
                method.lower(),
                path,
                args=ImmutableMultiDict([(k, v) for k, vs in query.items() for v in vs]),
                headers=Headers(headers),
                data=body or None,
                content_type=headers.get("content-type", "application/json"),
            )
            try:
                self.apis[spec].validate_request(request)
            except Exception as exc:  # openapi-core raises a family of errors
                cause = exc.__cause__ or exc
                msg = f"{method} {path}: request violates {spec}: {exc!r} {cause}"
                self.violations.append(msg)
                status, payload = 400, self._failure(400, msg)
            else:
                status, payload = self._route(method, path, query, json.loads(body or b"null"))
            self.calls.append((method, path, status))
            return self._send(spec, request, status, payload)

    def _send(
        self, spec: str | None, request: MockRequest | None, status: int, payload: Any
    ) -> tuple[int, bytes, dict[str, str]]:
        data = b"" if payload is None else json.dumps(payload).encode()
        ctype = "application/json" if payload is not None else None
        if spec is not None and request is not None:
            response = MockResponse(data, status_code=status, content_type=ctype or "")
            try:
                self.apis[spec].validate_response(request, response)
            except Exception as exc:
                cause = exc.__cause__ or exc
                self.violations.append(
                    f"{request.method.upper()} {request.path} -> {status}: response violates "
                    f"{spec}: {exc!r} {cause}"
                )
        return status, data, ({"Content-Type": ctype} if ctype else {})

    def _failure(self, status: int, detail: str, code: str = "error") -> dict[str, Any]:
        return {
            "errors": [
                {
                    "id": str(uuid.uuid4()),
                    "status": str(status),
                    "code": code,
                    "title": code,
                    "detail": detail,
                }
            ]
        }

    def _injected(self, method: str, path: str) -> int | None:
        for inj in self.injections:
            if inj.times > 0 and inj.method == method and re.search(inj.path_re, path):
                inj.times -= 1
                return inj.status
        return None

    # -- routes -------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        if (status := self._injected(method, path)) is not None:
            return status, (None if status == 429 else self._failure(status, "injected"))
        if m := STMT_RE.match(path):
            name, sub = m["name"], m["sub"]
            if name is None:
                return self._create(body) if method == "POST" else self._list(path, query)
            if sub == "/results":
                return self._results(name, query)
            if sub == "/exceptions":
                return self._exceptions(name, path)
            return {"GET": self._get, "PUT": self._put, "DELETE": self._delete}[method](name, body)
        if path.startswith("/fcpm/v2/compute-pools"):
            return self._pool(method, path, query, body)
        if path.startswith("/v2/metrics/"):
            return self._metrics(body)
        return 404, self._failure(404, "no such route in the contract server")

    def _statement_json(self, s: Stored) -> dict[str, Any]:
        spec = copy.deepcopy(s.body["spec"])
        spec["statement_name"] = s.name  # required by the spec's responses
        spec["execution_mode"] = "streaming"  # readOnly: a client must not send it back
        status: dict[str, Any] = {
            "phase": "DELETING" if s.deleted_gets is not None else s.phase,
            "traits": {"sql_kind": "SELECT", "is_bounded": False, "is_append_only": True},
        }
        detail = s.execution.detail if s.execution is not None else s.detail
        if detail:
            status["detail"] = detail
        return {
            "api_version": "sql/v1",
            "kind": "Statement",
            "name": s.name,
            "organization_id": s.body["organization_id"],
            "environment_id": s.body["environment_id"],
            "metadata": {
                "self": f"{self.base}/sql/v1/organizations/{s.body['organization_id']}/"
                f"environments/{s.body['environment_id']}/statements/{s.name}",
                "created_at": s.created_at,
                "updated_at": _now(),
                "uid": s.uid,
                "resource_version": str(s.version),
                "labels": {},
            },
            "spec": spec,
            "status": status,
        }

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        name = body["name"]
        if name in self.statements:
            return 409, self._failure(409, f"statement {name} already exists", "conflict")
        sql = body["spec"]["statement"]
        if "SYNTAX ERROR" in sql.upper():
            line = sql[: sql.upper().index("SYNTAX ERROR")].count("\n") + 1
            detail = f'SQL parse failed. Encountered "SYNTAX" at line {line}, column 1.'
            return 400, self._failure(400, detail, "invalid_statement")
        phases = self.scripts.get(name, ["PENDING", "RUNNING", "COMPLETED"])
        detail = (self.scripts.get(name + "#detail") or [None])[0]
        stored = Stored(name, body, list(phases), detail)
        self.created.append(copy.deepcopy(body))
        if name not in self.scripts and self.job_script is not None and _is_job(stored):
            stored.phases, stored.detail = list(self.job_script[0]), self.job_script[1]
        elif name not in self.scripts and self.executor is not None:
            stored.execution = self.executor.start(name, sql, body["spec"].get("properties") or {})
        self.statements[name] = stored
        return 201, self._statement_json(stored)

    def _live(self, name: str) -> Stored | None:
        s = self.statements.get(name)
        if s is not None and s.deleted_gets is not None and s.deleted_gets <= 0:
            del self.statements[name]
            return None
        return s

    def _get(self, name: str, _body: Any) -> tuple[int, Any]:
        s = self._live(name)
        if s is None:
            return 404, self._failure(404, f"statement {name} not found", "not_found")
        out = self._statement_json(s)
        if s.deleted_gets is not None:
            s.deleted_gets -= 1
        else:
            s.advance()
        return 200, out

    def _put(self, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        s = self._live(name)
        if s is None:
            return 404, self._failure(404, f"statement {name} not found", "not_found")
        if self.conflicts.get(name, 0) > 0:
            self.conflicts[name] -= 1
            s.version += 1  # someone else changed it meanwhile
        if body["metadata"]["resource_version"] != str(s.version):
            return 409, self._failure(409, "resource_version is stale", "conflict")
        if body["spec"]["statement"] != s.body["spec"]["statement"]:
            return 400, self._failure(400, "spec.statement is immutable")
        stopped = bool(body["spec"]["stopped"])
        s.body["spec"]["stopped"] = stopped
        s.version += 1
        s.phases = ["STOPPING", "STOPPED"] if stopped else ["PENDING", "RUNNING"]
        return 202, None

    def _delete(self, name: str, _body: Any) -> tuple[int, Any]:
        s = self._live(name)
        if s is None:
            return 404, self._failure(404, f"statement {name} not found", "not_found")
        if s.deleted_gets is None:
            s.deleted_gets = self.delete_lag
            if s.execution is not None:  # cancelling a job takes a while: not under the lock
                threading.Thread(target=s.execution.delete, daemon=True).start()
        return 202, None

    def _list(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        size = min(int(query.get("page_size", ["100"])[0]), self.page_size_cap)
        start = int(query.get("page_token", ["0"])[0])
        names = sorted(n for n in self.statements if self._live(n) is not None)
        page = names[start : start + size]
        nxt = f"{self.base}{path}?page_token={start + size}" if start + size < len(names) else ""
        return 200, {
            "api_version": "sql/v1",
            "kind": "StatementList",
            "metadata": {"self": f"{self.base}{path}", "next": nxt},
            "data": [self._statement_json(self.statements[n]) for n in page],
        }

    def _results(self, name: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if self._live(name) is None:
            return 404, self._failure(404, f"statement {name} not found", "not_found")
        s = self.statements[name]
        if s.execution is not None:
            rows = [{"op": _OP_CODES[r.op], "row": r.fields} for r in s.execution.rows]
            self.results.setdefault(name, [rows])
        pages = self.results.get(name, [[]])
        index = int(query.get("page_token", ["0"])[0])
        rows = pages[index] if index < len(pages) else []
        base = (
            f"{self.base}/sql/v1/organizations/{self.statements[name].body['organization_id']}/"
            f"environments/{self.statements[name].body['environment_id']}/statements/{name}/results"
        )
        nxt = f"{base}?page_token={index + 1}" if index + 1 < len(pages) else ""
        return 200, {
            "api_version": "sql/v1",
            "kind": "StatementResult",
            "metadata": {"self": base, "next": nxt, "created_at": _now()},
            "results": {"data": rows},
        }

    def _exceptions(self, name: str, path: str) -> tuple[int, Any]:
        s = self._live(name)
        if s is None:
            return 404, self._failure(404, f"statement {name} not found", "not_found")
        data = []
        if s.execution is not None and s.execution.exception is not None:
            kind, message = s.execution.exception
            data.append(
                {
                    "kind": "StatementException",
                    "name": kind,
                    "message": message,
                    "timestamp": _now(),
                }
            )
        elif s.detail:
            data.append(
                {
                    "kind": "StatementException",
                    "name": "org.apache.flink.table.api.ValidationException",
                    "message": s.detail,
                    "timestamp": _now(),
                }
            )
        return 200, {
            "api_version": "sql/v1",
            "kind": "StatementExceptionList",
            "metadata": {"self": f"{self.base}{path}"},
            "data": data,
        }

    def _pool_json(self, pool: dict[str, Any]) -> dict[str, Any]:
        env = pool["spec"]["environment"]["id"]
        return {
            "api_version": "fcpm/v2",
            "kind": "ComputePool",
            "id": pool["id"],
            "metadata": {
                "self": f"{self.base}/fcpm/v2/compute-pools/{pool['id']}",
                "resource_name": f"crn://confluent.cloud/environment={env}/compute-pool={pool['id']}",
                "created_at": _now(),
            },
            "spec": {
                **pool["spec"],
                "environment": {
                    "id": env,
                    "related": f"{self.base}/org/v2/environments/{env}",
                    "resource_name": f"crn://confluent.cloud/environment={env}",
                },
            },
            "status": {"phase": pool.get("phase", "PROVISIONED"), "current_cfu": 0},
        }

    def _pool(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        pool_id = path.rsplit("/", 1)[1] if path.count("/") == 4 else None
        if method == "GET" and pool_id:
            pool = self.pools.get(pool_id)
            if pool is None:
                return 404, self._failure(404, f"compute pool {pool_id} not found", "not_found")
            return 200, self._pool_json(pool)
        if method == "GET":
            env = query.get("environment", [""])[0]
            region = query.get("spec.region", [None])[0]
            data = [
                self._pool_json(p)
                for p in self.pools.values()
                if p["spec"]["environment"]["id"] == env
                and (region is None or p["spec"]["region"] == region)
            ]
            return 200, {
                "api_version": "fcpm/v2",
                "kind": "ComputePoolList",
                "metadata": {"next": ""},
                "data": data,
            }
        new_id = f"lfcp-{len(self.pools) + 1:05d}"
        self.pools[new_id] = {"id": new_id, "spec": body["spec"], "phase": "PROVISIONING"}
        return 202, self._pool_json(self.pools[new_id])

    def _metrics(self, body: dict[str, Any]) -> tuple[int, Any]:
        metric = body["aggregations"][0]["metric"]
        names = [
            f.get("value")
            for f in (body.get("filter") or {}).get("filters") or []
            if f.get("field") == "resource.flink_statement.name"
        ]
        stored = self.statements.get(str(names[0])) if names else None
        if stored is not None and stored.execution is not None:
            value = stored.execution.metrics().get(metric)
            points = [] if value is None else [{"timestamp": _now(), "value": value}]
            return 200, {"data": points}
        return 200, {"data": self.metrics.get(metric, [])}


class ContractServer(LocalServer):
    """Runs :class:`ContractApp` on 127.0.0.1 and a free port until :meth:`close`.

    ``registry``: the environment's Schema Registry, when the server executes on a stack.
    """

    def __init__(self, app: ContractApp, registry: RegistryServer | None = None) -> None:
        self.app = app
        self.registry = registry
        super().__init__(app)
        app.base = self.url

    def close(self) -> None:
        super().close()
        if self.registry is not None:
            self.registry.close()


def _is_job(stored: Stored) -> bool:
    return statement_kind(stored.body["spec"]["statement"]) in (
        "INSERT_INTO",
        "EXECUTE_STATEMENT_SET",
    )


def serve_on_stack(
    apis: dict[str, OpenAPI], docs: dict[str, dict[str, Any]], stack: Any
) -> ContractServer:
    """A contract server that executes statements on the local ``stack`` (a StackState),
    with a Schema Registry beside it as every Confluent Cloud environment has."""
    registry = RegistryServer()
    executor = LocalExecutor(
        stack.gateway_url,
        stack.flink_rest_url,
        stack.bootstrap_servers,
        Registry(registry.url, f"{API_KEY}:{API_SECRET}", registry.app),
    )
    return ContractServer(ContractApp(apis, docs, executor), registry)


def confluent_env(server: ContractServer, bootstrap: str) -> dict[str, str]:
    """The ``CONFLUENT_*`` variables a user would set, pointing at the contract server."""
    return {
        "CONFLUENT_FLINK_API_KEY": "FLINKKEY",
        "CONFLUENT_FLINK_API_SECRET": "flink-secret",
        "CONFLUENT_ORG_ID": "00000000-0000-0000-0000-000000000c77",
        "CONFLUENT_ENV_ID": "env-abc123",
        "CONFLUENT_COMPUTE_POOL_ID": "lfcp-00001",
        "CONFLUENT_FLINK_REST_ENDPOINT": server.url,
        "CONFLUENT_CLOUD_API_KEY": "CLOUDKEY",
        "CONFLUENT_CLOUD_API_SECRET": "cloud-secret",
        "CONFLUENT_CLOUD_API_ENDPOINT": server.url,
        "CONFLUENT_TELEMETRY_ENDPOINT": server.url,
        "CONFLUENT_KAFKA_CLUSTER_ID": "lkc-xyz",
        "CONFLUENT_POLL_INTERVAL_S": "0.2",
        "CONFLUENT_KAFKA_BOOTSTRAP": bootstrap,
        **(
            {
                "CONFLUENT_SCHEMA_REGISTRY_URL": server.registry.url,
                "CONFLUENT_SCHEMA_REGISTRY_API_KEY": API_KEY,
                "CONFLUENT_SCHEMA_REGISTRY_API_SECRET": API_SECRET,
            }
            if server.registry is not None
            else {}
        ),
    }

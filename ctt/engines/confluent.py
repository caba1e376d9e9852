"""Confluent Cloud as a :class:`FlinkEngine`: the statements API, compute pools, metrics.

Written against Confluent's public OpenAPI specs (``shared/reference/confluent-cloud``);
every request goes through one route table (:data:`ROUTES`) that the contract
tests check against those specs. Rules of the API that shape this client:

* one statement per request; ``SET``/``USE`` are client-side and travel as
  ``spec.properties``;
* stop/resume is a PUT of the whole statement with ``metadata.resource_version``;
  409 means someone changed it: read again and retry;
* delete answers 202; the statement is gone once GET answers 404;
* results page through ``metadata.next``; a page may be empty while ``next`` is set;
* 429 carries no Retry-After: idempotent requests back off with jitter, a create
  is never repeated blindly: after 429, 500, 502-504 or a lost connection ctt first
  looks whether the statement exists.

httpx errors are translated into :class:`EngineError` at the edge.

What the :class:`FlinkEngine` protocol asks and Confluent Cloud cannot offer:

* capacity: compute pools scale by themselves, so :meth:`ConfluentEngine.capacity`
  reports ``free_slots=None`` ("do not wait");
* the watermark comes from the Metrics API gauge (one to two minutes behind) and
  needs a Cloud API key; without one :meth:`~ConfluentEngine.watermark` raises
  :class:`Unsupported`;
* Confluent's metrics have no late-records-dropped counter:
  :meth:`~ConfluentEngine.settled_late_count` always raises :class:`Unsupported`.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple, Self, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ctt.engines.base import (
    Capacity,
    EngineError,
    FailureCause,
    JobFailure,
    LateCount,
    Phase,
    ResultRow,
    StatementError,
    StatementHandle,
    StatementStatus,
    Unsupported,
)
from ctt.engines.confluent_dialect import (
    RESUMABLE_KINDS,
    fold_client_side,
    statement_kind,
    statement_name,
    to_confluent,
)
from ctt.engines.confluent_tables import ConfluentCatalog
from ctt.errors import ConfigError
from ctt.observed.model import StatementMetrics
from ctt.tls import shared_context

__all__ = [
    "OPS",
    "ROUTES",
    "WRITABLE_SPEC_FIELDS",
    "ComputePool",
    "ConfluentEngine",
    "ConfluentSettings",
    "Route",
    "StatementException",
    "StatementInfo",
]

DOCS = "see docs/confluent-cloud.md"
OPS = {0: "+I", 1: "-U", 2: "+U", 3: "-D"}
# spec fields a client may send back on PUT (sql.v1.StatementSpec minus readOnly ones)
WRITABLE_SPEC_FIELDS = frozenset(
    {"statement", "properties", "compute_pool_id", "principal", "stopped", "scaling"}
)
# Confluent's statement metrics (docs.confluent.io, "Flink metrics"); the Metrics API spec
# describes the query, not the metric names.
FLINK_METRICS = {
    "records_in": "io.confluent.flink/num_records_in",
    "records_out": "io.confluent.flink/num_records_out",
    "pending_records": "io.confluent.flink/pending_records",
    "watermark_ms": "io.confluent.flink/current_input_watermark_milliseconds",
}
_COUNTERS = frozenset({"records_in", "records_out"})
_M = TypeVar("_M", bound=BaseModel)


class Route(NamedTuple):
    """One API operation: which spec file declares it, its method and path template."""

    spec: str
    method: str
    path: str
    safe_retry: bool  # may be repeated after 429 / a lost connection without side effects


_STMTS = "/sql/v1/organizations/{organization_id}/environments/{environment_id}/statements"
_GATEWAY = "flink-gateway-openapi.yaml"
ROUTES: dict[str, Route] = {
    "create_statement": Route(_GATEWAY, "POST", _STMTS, safe_retry=False),
    "list_statements": Route(_GATEWAY, "GET", _STMTS, safe_retry=True),
    "get_statement": Route(_GATEWAY, "GET", _STMTS + "/{statement_name}", safe_retry=True),
    # conditional on resource_version: a repeat after success answers 409, never applies twice
    "update_statement": Route(_GATEWAY, "PUT", _STMTS + "/{statement_name}", safe_retry=True),
    "delete_statement": Route(_GATEWAY, "DELETE", _STMTS + "/{statement_name}", safe_retry=True),
    "statement_results": Route(_GATEWAY, "GET", _STMTS + "/{name}/results", safe_retry=True),
    "statement_exceptions": Route(
        _GATEWAY, "GET", _STMTS + "/{statement_name}/exceptions", safe_retry=True
    ),
    "list_compute_pools": Route("fcpm-openapi.yaml", "GET", "/fcpm/v2/compute-pools", True),
    "get_compute_pool": Route("fcpm-openapi.yaml", "GET", "/fcpm/v2/compute-pools/{id}", True),
    "create_compute_pool": Route("fcpm-openapi.yaml", "POST", "/fcpm/v2/compute-pools", False),
    # a read-only query that happens to be a POST
    "query_metrics": Route("metrics-openapi.yaml", "POST", "/v2/metrics/{dataset}/query", True),
}


# --------------------------------------------------------------------------- settings


class ConfluentSettings(BaseSettings):
    """Where and as whom ctt talks to Confluent Cloud; read from ``CONFLUENT_*`` variables."""

    model_config = SettingsConfigDict(
        env_prefix="CONFLUENT_", extra="ignore", populate_by_name=True
    )

    flink_api_key: str
    flink_api_secret: SecretStr
    org_id: str
    env_id: str
    compute_pool_id: str
    flink_rest_endpoint: str | None = None
    region: str | None = None
    cloud: str | None = None
    principal_id: str | None = None
    catalog: str | None = Field(default=None, description="defaults to env_id")
    database: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CONFLUENT_DATABASE", "CONFLUENT_KAFKA_CLUSTER_ID"),
        description="the Kafka cluster (id or name) that holds the topics",
    )
    cloud_api_key: str | None = None
    cloud_api_secret: SecretStr | None = None
    cloud_api_endpoint: str = "https://api.confluent.cloud"
    telemetry_endpoint: str = "https://api.telemetry.confluent.cloud"
    request_timeout_s: float = 30.0
    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 8.0
    poll_interval_s: float = 1.0
    wait_timeout_s: float = 120.0

    @classmethod
    def from_env(cls) -> Self:
        """Settings from the environment, or one line naming every missing variable."""
        try:
            settings = cls()
        except ValidationError as exc:
            missing = [
                "CONFLUENT_" + str(err["loc"][0]).upper()
                for err in exc.errors()
                if err["type"] == "missing"
            ]
            if missing:
                verb = "is" if len(missing) == 1 else "are"
                raise ConfigError(f"{', '.join(missing)} {verb} not set", hint=DOCS) from None
            first = exc.errors()[0]
            raise ConfigError(
                f"CONFLUENT_{str(first['loc'][0]).upper()}: {first['msg']}", hint=DOCS
            ) from None
        settings.flink_endpoint()  # fail now, not at the first request
        return settings

    def flink_endpoint(self) -> str:
        if self.flink_rest_endpoint:
            return self.flink_rest_endpoint.rstrip("/")
        if self.region and self.cloud:
            return f"https://flink.{self.region}.{self.cloud.lower()}.confluent.cloud"
        raise ConfigError(
            "CONFLUENT_FLINK_REST_ENDPOINT is not set (nor CONFLUENT_REGION and CONFLUENT_CLOUD)",
            hint=DOCS,
        )

    def statement_properties(self) -> dict[str, str]:
        props = {"sql.current-catalog": self.catalog or self.env_id}
        if self.database:
            props["sql.current-database"] = self.database
        return props


# --------------------------------------------------------------------------- API models


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _ErrorItem(_Lenient):
    status: str | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None


class _Failure(_Lenient):
    errors: list[_ErrorItem] = Field(default_factory=list)


class _StatusBody(_Lenient):
    phase: str
    detail: str | None = None


class _Statement(_Lenient):
    name: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: dict[str, Any] = Field(default_factory=dict)
    status: _StatusBody | None = None


class _ResultItem(_Lenient):
    op: int = 0
    row: list[Any] = Field(default_factory=list)


class _ResultPage(_Lenient):
    metadata: dict[str, Any] = Field(default_factory=dict)
    results: dict[str, Any] = Field(default_factory=dict)


class StatementException(BaseModel):
    """One entry of a statement's exceptions list (why it is FAILING or FAILED)."""

    name: str | None = None
    message: str | None = None
    timestamp: str | None = None


class StatementInfo(BaseModel):
    """A statement as listed, for cleanup by name prefix and age."""

    name: str
    phase: str | None = None
    created_at: datetime | None = None


class ComputePool(BaseModel):
    id: str
    display_name: str
    cloud: str | None = None
    region: str | None = None
    max_cfu: int | None = None
    phase: str | None = None
    current_cfu: int | None = None


# --------------------------------------------------------------------------- engine


class ConfluentEngine:
    """The Confluent Cloud statements API behind ctt's :class:`FlinkEngine` protocol."""

    name = "confluent"

    def __init__(
        self,
        settings: ConfluentSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        name_prefix: str = "ctt-run",
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._session_properties: dict[str, str] = {}
        # statements of one engine (one test) share a unique prefix: cleanup finds them by it
        self._prefix = statement_name(f"{name_prefix}-{self._rng.getrandbits(24):06x}")
        self._count = 0
        self._say = say or (lambda _line: None)
        self._seen: dict[str, Phase] = {}
        self._quiet: set[str] = set()  # statements of run(): one line when they finish
        self.catalog = ConfluentCatalog(self._prefix)
        headers = {"User-Agent": "ctt", "Accept": "application/json"}
        timeout = httpx.Timeout(settings.request_timeout_s)
        self._flink = httpx.Client(
            base_url=settings.flink_endpoint(),
            auth=(settings.flink_api_key, settings.flink_api_secret.get_secret_value()),
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=shared_context(),
        )
        self._cloud: httpx.Client | None = None
        self._telemetry: httpx.Client | None = None
        if settings.cloud_api_key and settings.cloud_api_secret:
            auth = (settings.cloud_api_key, settings.cloud_api_secret.get_secret_value())
            self._cloud = httpx.Client(
                base_url=settings.cloud_api_endpoint.rstrip("/"),
                auth=auth,
                headers=headers,
                timeout=timeout,
                transport=transport,
                verify=shared_context(),
            )
            self._telemetry = httpx.Client(
                base_url=settings.telemetry_endpoint.rstrip("/"),
                auth=auth,
                headers=headers,
                timeout=timeout,
                transport=transport,
                verify=shared_context(),
            )

    @classmethod
    def from_env(cls) -> ConfluentEngine:
        return cls(ConfluentSettings.from_env())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the views this session created (Confluent Cloud has no temporary ones)."""
        for view in reversed(self.catalog.views):
            try:
                self.run(f"DROP VIEW IF EXISTS `{view}`")
            except (EngineError, StatementError) as exc:
                self._say(f"confluent: could not drop view {view}: {exc}")
        self.catalog.views.clear()
        for client in (self._flink, self._cloud, self._telemetry):
            if client is not None:
                client.close()

    # ------------------------------------------------------------------ protocol

    def submit(
        self, sql: str, *, name: str, properties: dict[str, str] | None = None
    ) -> StatementHandle:
        """Create one statement. ``SET``/``USE`` alone set properties for later statements."""
        folded = fold_client_side(sql)
        cname = statement_name(name)
        if not folded.statements:
            self._session_properties.update(folded.properties)
            return StatementHandle(name=cname, sql=sql, engine_ref={"client_side": "true"})
        if len(folded.statements) > 1:
            raise StatementError(
                f"Confluent Cloud runs one statement per request; got {len(folded.statements)}",
                hint="submit them one at a time, or wrap INSERTs in EXECUTE STATEMENT SET",
            )
        statement = to_confluent(self.catalog.translate(folded.statements[0])).sql
        props = (
            self.settings.statement_properties()
            | self._session_properties
            | folded.properties
            | (properties or {})
        )
        spec: dict[str, Any] = {
            "statement": statement,
            "properties": props,
            "compute_pool_id": self.settings.compute_pool_id,
            "stopped": False,
        }
        if self.settings.principal_id:
            spec["principal"] = self.settings.principal_id
        body = {
            "name": cname,
            "organization_id": self.settings.org_id,
            "environment_id": self.settings.env_id,
            "spec": spec,
        }
        created = self._create_statement(cname, body)
        ref = {"statement_name": cname}
        if created_at := created.metadata.get("created_at"):
            ref["created_at"] = str(created_at)
        return StatementHandle(name=cname, sql=statement, engine_ref=ref)

    def run(self, sql: str, *, deadline_s: float = 120.0) -> list[ResultRow]:
        """Submit, wait until COMPLETED, read every row, delete: for DDL, DESCRIBE, EXPLAIN."""
        self._count += 1
        name = f"{self._prefix}-{self._count}"
        self._quiet.add(name)
        handle = self.submit(sql, name=name)
        try:
            if _client_side(handle):
                return []
            end = self._clock() + deadline_s
            while True:
                st = self.status(handle)
                if st.phase in (Phase.COMPLETED, Phase.FAILED, Phase.FAILING, Phase.STOPPED):
                    kind = statement_kind(handle.sql) or "statement"
                    self._say(f"confluent statement {handle.name}: {st.phase.value} ({kind})")
                if st.phase is Phase.COMPLETED:
                    return list(self.results(handle))
                if st.phase in (Phase.FAILED, Phase.FAILING, Phase.STOPPED):
                    match = _LINE_RE.search(st.detail or "")
                    raise StatementError(
                        f"Confluent Cloud rejected the statement: {st.detail or st.phase.value}",
                        sql_line=int(match.group(1)) if match else None,
                    )
                if self._clock() > end:
                    raise EngineError(
                        f"statement {handle.name} did not finish in {deadline_s:.0f}s"
                    )
                self._sleep(self.settings.poll_interval_s)
        finally:
            self.delete(handle)

    def capacity(self) -> Capacity:
        """Compute pools scale by themselves: there are no slots to wait for."""
        return Capacity()

    def status(self, handle: StatementHandle) -> StatementStatus:
        if _client_side(handle):
            return StatementStatus(phase=Phase.COMPLETED, detail="client-side SET/USE")
        stmt = self._get_statement(handle.name)
        if stmt is None:
            raise EngineError(f"statement {handle.name} no longer exists in Confluent Cloud")
        phase = _phase(stmt)
        detail = stmt.status.detail if stmt.status else None
        if self._seen.get(handle.name) is not phase and handle.name not in self._quiet:
            self._seen[handle.name] = phase
            self._say(
                f"confluent statement {handle.name}: {phase.value}"
                + (f" ({detail})" if detail and phase is not Phase.RUNNING else "")
            )
        cause = None
        # DEGRADED (restarting) carries a cause only when the statement recorded an exception
        newest = None
        if phase in (Phase.FAILED, Phase.FAILING, Phase.DEGRADED):
            newest = next(iter(self.exceptions(handle)), None)
        if phase in (Phase.FAILED, Phase.FAILING) or newest is not None:
            name = (newest.name if newest else None) or "StatementException"
            cause = FailureCause(
                exception=name.rsplit(".", 1)[-1],
                message=(newest.message if newest else None) or detail or "(no message)",
            )
        return StatementStatus(phase=phase, detail=detail, cause=cause)

    def watermark(self, handle: StatementHandle) -> int | None:
        """The Metrics API's input watermark gauge: minutes behind, never ahead."""
        if self._telemetry is None:
            raise Unsupported(
                "the watermark of a Confluent Cloud statement comes from the Metrics API",
                hint="set CONFLUENT_CLOUD_API_KEY/SECRET",
            )
        return self.metrics(handle).watermark_ms

    def settled_late_count(
        self, handle: StatementHandle, *, min_source_records: int | None = None
    ) -> LateCount | None:
        raise Unsupported("Confluent Cloud's statement metrics do not count late records dropped")

    def results(self, handle: StatementHandle) -> Iterator[ResultRow]:
        """Rows page by page; waits ``poll_interval_s`` after an empty page that has a next."""
        if _client_side(handle):
            return
        url: str | None = self._path("statement_results", name=handle.name)
        while url:
            resp = self._send(self._flink, "statement_results", url, what=handle.name)
            page = _parse(_ResultPage, resp, "statement results")
            data = page.results.get("data") or []
            for raw in data:
                item = _ResultItem.model_validate(raw)
                if item.op not in OPS:
                    raise EngineError(f"statement {handle.name}: unknown result op {item.op}")
                yield ResultRow(op=OPS[item.op], fields=item.row)
            url = _local_path(page.metadata.get("next"))
            if url and not data:
                self._sleep(self.settings.poll_interval_s)

    def stop(self, handle: StatementHandle, *, savepoint: bool = False) -> str | None:
        """Stop and wait for STOPPED. Confluent keeps the offsets itself: no savepoint path."""
        if _client_side(handle):
            return None
        if self._set_stopped(handle.name, stopped=True):
            self._wait_phase(handle.name, {Phase.STOPPED, Phase.COMPLETED, Phase.FAILED})
        return None

    def resume(self, handle: StatementHandle) -> None:
        """Resume a stopped CTAS, INSERT INTO or EXECUTE STATEMENT SET (the only kinds that can)."""
        kind = statement_kind(handle.sql)
        if kind not in RESUMABLE_KINDS:
            raise StatementError(
                f"statement {handle.name} is a {kind or 'statement'} and cannot be resumed",
                hint="only CREATE TABLE AS, INSERT INTO and EXECUTE STATEMENT SET resume; "
                "submit it again",
            )
        self._set_stopped(handle.name, stopped=False)

    def delete(self, handle: StatementHandle) -> None:
        """Delete and wait until GET answers 404; already gone is fine."""
        if _client_side(handle):
            return
        path = self._path("delete_statement", statement_name=handle.name)
        resp = self._send(
            self._flink, "delete_statement", path, what=handle.name, ok=(202, 204, 404)
        )
        if resp.status_code == 404:
            return
        if handle.name not in self._quiet:
            self._say(f"confluent statement {handle.name}: deleted")
        deadline = self._clock() + self.settings.wait_timeout_s
        while self._get_statement(handle.name) is not None:
            if self._clock() > deadline:
                raise EngineError(
                    f"statement {handle.name} still exists {self.settings.wait_timeout_s:.0f}s "
                    "after it was deleted",
                    hint="check the Confluent Cloud console (`confluent flink statement delete`)",
                )
            self._sleep(self.settings.poll_interval_s)

    def failures(self, handle: StatementHandle) -> list[JobFailure]:
        """Confluent Cloud restarts statements itself and does not list the restarts."""
        raise Unsupported(
            "Confluent Cloud keeps no restart history of a statement",
            hint="`job_survives: {max_restarts: ...}` measures recovery on the local engine",
        )

    def metrics(self, handle: StatementHandle) -> StatementMetrics:
        """Statement metrics from the Metrics API (they lag one to two minutes)."""
        if self._telemetry is None:
            return StatementMetrics(
                raw={"unavailable": "CONFLUENT_CLOUD_API_KEY/SECRET not set (Metrics API)"}
            )
        if _client_side(handle):
            return StatementMetrics()
        values: dict[str, float | None] = {}
        start = handle.engine_ref.get("created_at")
        for field, metric in FLINK_METRICS.items():
            counter = field in _COUNTERS
            body = {
                "aggregations": [{"metric": metric, "agg": "SUM"}],
                "filter": {
                    "op": "AND",
                    "filters": [
                        {
                            "field": "resource.flink_statement.name",
                            "op": "EQ",
                            "value": handle.name,
                        },
                        {
                            "field": "resource.compute_pool.id",
                            "op": "EQ",
                            "value": self.settings.compute_pool_id,
                        },
                    ],
                },
                "granularity": "ALL" if counter else "PT1M",
                "intervals": [f"{start}/now" if counter and start else "now-30m|m/now"],
                "limit": 1000,
            }
            path = self._path("query_metrics", dataset="cloud")
            resp = self._send(self._telemetry, "query_metrics", path, json=body, what=metric)
            points = _json(resp, "metrics").get("data") or []
            if not points:
                values[field] = None
            elif counter:
                values[field] = sum(float(p.get("value", 0)) for p in points)
            else:  # gauge: the newest point (points come newest first)
                newest = max(points, key=lambda p: str(p.get("timestamp", "")))
                values[field] = float(newest.get("value", 0))
        return StatementMetrics(
            records_in=_int(values.get("records_in")),
            records_out=_int(values.get("records_out")),
            watermark_ms=_int(values.get("watermark_ms")),
            raw={"pending_records": values.get("pending_records"), "metrics": FLINK_METRICS},
        )

    # ------------------------------------------------------------------ beyond the protocol

    def exceptions(self, handle: StatementHandle) -> list[StatementException]:
        """Why a statement is FAILING or FAILED, newest first as the API lists them."""
        if _client_side(handle):
            return []
        path = self._path("statement_exceptions", statement_name=handle.name)
        body = _json(self._send(self._flink, "statement_exceptions", path, what=handle.name), "")
        return [StatementException.model_validate(e) for e in body.get("data") or []]

    def delete_prefixed(self, prefix: str) -> list[str]:
        """Delete every statement whose name starts with ``prefix`` (a run's leftovers)."""
        names = [s.name for s in self.list_statements(prefix)]
        for name in names:
            self.delete(StatementHandle(name=name, sql=""))
        return names

    def list_statements(self, prefix: str = "") -> list[StatementInfo]:
        """Every statement in the environment whose name starts with ``prefix``."""
        out: list[StatementInfo] = []
        url: str | None = self._path("list_statements")
        params: dict[str, str] | None = {
            "spec.compute_pool_id": self.settings.compute_pool_id,
            "page_size": "100",
        }
        while url:
            resp = self._send(self._flink, "list_statements", url, params=params, what="statements")
            body = _json(resp, "statement list")
            for raw in body.get("data") or []:
                stmt = _Statement.model_validate(raw)
                if stmt.name.startswith(prefix):
                    out.append(
                        StatementInfo(
                            name=stmt.name,
                            phase=stmt.status.phase if stmt.status else None,
                            created_at=stmt.metadata.get("created_at"),
                        )
                    )
            url, params = _local_path((body.get("metadata") or {}).get("next")), None
        return out

    def compute_pool(self, pool_id: str | None = None) -> ComputePool:
        """The configured compute pool (or ``pool_id``), from the fcpm v2 API."""
        client = self._require_cloud()
        pid = pool_id or self.settings.compute_pool_id
        path = self._path("get_compute_pool", id=pid)
        resp = self._send(
            client,
            "get_compute_pool",
            path,
            params={"environment": self.settings.env_id},
            what=f"compute pool {pid}",
        )
        return _pool(_json(resp, "compute pool"))

    def ensure_compute_pool(
        self, display_name: str, *, cloud: str, region: str, max_cfu: int = 5
    ) -> ComputePool:
        """Find the pool by display name in this environment and region, or create it."""
        client = self._require_cloud()
        url: str | None = self._path("list_compute_pools")
        params: dict[str, str] | None = {"environment": self.settings.env_id, "spec.region": region}
        while url:
            resp = self._send(
                client, "list_compute_pools", url, params=params, what="compute pools"
            )
            body = _json(resp, "compute pool list")
            for raw in body.get("data") or []:
                if (raw.get("spec") or {}).get("display_name") == display_name:
                    return _pool(raw)
            url, params = _local_path((body.get("metadata") or {}).get("next")), None
        body = {
            "spec": {
                "display_name": display_name,
                "cloud": cloud.upper(),
                "region": region,
                "max_cfu": max_cfu,
                "environment": {"id": self.settings.env_id},
            }
        }
        path = self._path("create_compute_pool")
        resp = self._send(
            client, "create_compute_pool", path, json=body, what="compute pool", ok=(202,)
        )
        return _pool(_json(resp, "compute pool"))

    # ------------------------------------------------------------------ internals

    def _require_cloud(self) -> httpx.Client:
        if self._cloud is None:
            raise ConfigError(
                "CONFLUENT_CLOUD_API_KEY and CONFLUENT_CLOUD_API_SECRET are not set "
                "(compute pools need a Cloud API key)",
                hint=DOCS,
            )
        return self._cloud

    def _path(self, route: str, **params: str) -> str:
        values = {
            "organization_id": self.settings.org_id,
            "environment_id": self.settings.env_id,
            **params,
        }
        return ROUTES[route].path.format(**{k: quote(v, safe="") for k, v in values.items()})

    def _send(
        self,
        client: httpx.Client,
        route_name: str,
        url: str,
        *,
        what: str,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202),
    ) -> httpx.Response:
        """One request; retries 429/5xx (500, 502-504) and lost connections only when safe."""
        route = ROUTES[route_name]
        attempts = self.settings.max_retries + 1 if route.safe_retry else 1
        for attempt in range(attempts):
            try:
                resp = client.request(route.method, url, json=json, params=params)
            except httpx.HTTPError as exc:
                if attempt + 1 < attempts and isinstance(exc, httpx.TransportError):
                    self._backoff(attempt)
                    continue
                raise EngineError(
                    f"cannot reach Confluent Cloud at {client.base_url} ({route.method} {what}): "
                    f"{type(exc).__name__}: {exc}",
                    hint="check the endpoint variables and the network",
                ) from exc
            if resp.status_code in ok:
                return resp
            if resp.status_code in (429, 500, 502, 503, 504) and attempt + 1 < attempts:
                self._backoff(attempt)
                continue
            raise _error(resp, f"{route.method} {what}", attempts=attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> None:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        ceiling = min(self.settings.backoff_cap_s, self.settings.backoff_base_s * 2**attempt)
        self._sleep(self._rng.uniform(0, ceiling))

    def _create_statement(self, name: str, body: dict[str, Any]) -> _Statement:
        """POST once; after 429 or a lost connection look before posting again."""
        path = self._path("create_statement")
        for attempt in range(self.settings.max_retries + 1):
            try:
                resp = self._send(
                    self._flink, "create_statement", path, json=body, what=name, ok=(200, 201)
                )
                return _parse(_Statement, resp, "created statement")
            except EngineError as exc:
                status = _status_of(exc)
                lost = status is None and isinstance(exc.__cause__, httpx.TransportError)
                if status == 409:
                    existing = self._get_statement(name)
                    if existing is not None and _same(existing, body):
                        return existing  # our own earlier attempt
                    raise StatementError(
                        f"a statement named {name} already exists in environment "
                        f"{self.settings.env_id}",
                        hint="names are unique per environment; delete the leftover (`confluent flink statement delete`)",
                    ) from exc
                # 429 was not applied; a 500/502-504 or a lost connection may have been:
                # either way look before posting again
                if status not in (429, 500, 502, 503, 504) and not lost:
                    raise
                if attempt == self.settings.max_retries:
                    raise
                self._backoff(attempt)
                existing = self._get_statement(name)
                if existing is not None:
                    if _same(existing, body):
                        return existing
                    raise StatementError(
                        f"a statement named {name} already exists with different SQL"
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_statement(self, name: str) -> _Statement | None:
        path = self._path("get_statement", statement_name=name)
        resp = self._send(self._flink, "get_statement", path, what=name, ok=(200, 404))
        if resp.status_code == 404:
            return None
        return _parse(_Statement, resp, "statement")

    def _set_stopped(self, name: str, *, stopped: bool) -> bool:
        """GET, flip ``spec.stopped``, PUT with ``resource_version``; re-read on 409.

        Returns False when there was nothing to do (already in that state, or finished).
        """
        for _ in range(self.settings.max_retries + 1):
            stmt = self._get_statement(name)
            if stmt is None:
                raise EngineError(f"statement {name} does not exist")
            phase = _phase(stmt)
            if bool(stmt.spec.get("stopped")) == stopped:
                return False
            if stopped and phase in (Phase.COMPLETED, Phase.FAILED):
                return False
            body = {
                "name": stmt.name,
                "organization_id": self.settings.org_id,
                "environment_id": self.settings.env_id,
                "metadata": stmt.metadata,
                "spec": {k: v for k, v in stmt.spec.items() if k in WRITABLE_SPEC_FIELDS}
                | {"stopped": stopped},
            }
            path = self._path("update_statement", statement_name=name)
            resp = self._send(
                self._flink, "update_statement", path, json=body, what=name, ok=(200, 202, 409)
            )
            if resp.status_code != 409:
                return True
        raise EngineError(
            f"statement {name} changed on every attempt to {'stop' if stopped else 'resume'} it "
            f"({self.settings.max_retries + 1} conflicts)"
        )

    def _wait_phase(self, name: str, phases: set[Phase]) -> Phase:
        deadline = self._clock() + self.settings.wait_timeout_s
        while True:
            stmt = self._get_statement(name)
            if stmt is None:
                raise EngineError(f"statement {name} disappeared while ctt waited for it")
            phase = _phase(stmt)
            if phase in phases:
                return phase
            if self._clock() > deadline:
                raise EngineError(
                    f"statement {name} is still {phase} after {self.settings.wait_timeout_s:.0f}s"
                )
            self._sleep(self.settings.poll_interval_s)


# --------------------------------------------------------------------------- helpers


def _client_side(handle: StatementHandle) -> bool:
    return handle.engine_ref.get("client_side") == "true"


def _phase(stmt: _Statement) -> Phase:
    raw = stmt.status.phase if stmt.status else ""
    try:
        return Phase(raw)
    except ValueError:
        raise EngineError(
            f"Confluent Cloud reports phase {raw!r} for statement {stmt.name}, which ctt does "
            "not know",
            hint="known: " + ", ".join(p.value for p in Phase) + "; a newer ctt may know it",
        ) from None


def _same(existing: _Statement, body: dict[str, Any]) -> bool:
    return bool(existing.spec.get("statement") == body["spec"]["statement"])


def _local_path(next_url: Any) -> str | None:
    """``metadata.next`` as path + query on our own endpoint: credentials never leave it."""
    if not next_url:
        return None
    parts = urlsplit(str(next_url))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _json(resp: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError as exc:
        raise EngineError(
            f"Confluent Cloud sent {what} that is not JSON (HTTP {resp.status_code}): "
            f"{resp.text[:200]!r}"
        ) from exc
    if not isinstance(body, dict):
        raise EngineError(f"Confluent Cloud sent {what} that is not a JSON object")
    return body


def _parse(model: type[_M], resp: httpx.Response, what: str) -> _M:
    try:
        return model.model_validate(_json(resp, what))
    except ValidationError as exc:
        raise EngineError(f"Confluent Cloud sent an unexpected {what}: {exc.errors()[0]}") from exc


def _pool(raw: dict[str, Any]) -> ComputePool:
    spec, status = raw.get("spec") or {}, raw.get("status") or {}
    return ComputePool(
        id=raw.get("id", ""),
        display_name=spec.get("display_name", ""),
        cloud=spec.get("cloud"),
        region=spec.get("region"),
        max_cfu=spec.get("max_cfu"),
        phase=status.get("phase"),
        current_cfu=status.get("current_cfu"),
    )


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


_LINE_RE = re.compile(r"\bline (\d+)", re.IGNORECASE)


class _HttpStatusError(EngineError):
    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class _HttpStatementError(StatementError):
    def __init__(self, message: str, *, status: int, sql_line: int | None) -> None:
        super().__init__(message, sql_line=sql_line)
        self.status = status


def _status_of(exc: EngineError) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _error(resp: httpx.Response, what: str, *, attempts: int) -> EngineError | StatementError:
    """Map an error response (``{"errors": [...]}`` or anything else) to ctt's errors."""
    code = resp.status_code
    details: list[str] = []
    try:
        failure = _Failure.model_validate(resp.json())
        details = [e.detail or e.title or e.code or "" for e in failure.errors]
    except (ValueError, ValidationError):
        if resp.text:
            details = [resp.text[:300]]
    detail = "; ".join(d for d in details if d) or resp.reason_phrase
    message = f"{what}: HTTP {code}: {detail}"
    if code in (400, 422) and what.startswith("POST"):
        match = _LINE_RE.search(detail)
        return _HttpStatementError(
            f"Confluent Cloud rejected the statement: {detail}",
            status=code,
            sql_line=int(match.group(1)) if match else None,
        )
    hints = {
        401: "check CONFLUENT_FLINK_API_KEY/SECRET: a Flink API key for this environment and region",
        403: "the key's principal needs the FlinkDeveloper role (and access to the topics)",
        429: f"rate limited {attempts} time(s); lower the parallelism of the run",
    }
    hint = hints.get(code) or ("Confluent Cloud had an internal error" if code >= 500 else None)
    return _HttpStatusError(message, status=code, hint=hint)

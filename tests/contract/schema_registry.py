"""A Schema Registry for the contract world: Confluent's REST API, kept in memory.

Confluent Cloud's Flink tables are read and written through the environment's
Schema Registry: ``CREATE TABLE`` registers the key and value schemas under
``<topic>-key`` and ``<topic>-value``, and every record carries the id of its
writer schema (magic byte 0, then the id as 4 bytes big-endian). ctt must produce
and read records in that framing, so the contract world needs a registry too.

There is no OpenAPI file for it in ``../shared/reference``; this server follows
Confluent's documented REST API (docs.confluent.io, "Schema Registry API
Reference") for the calls the two real clients in a run make: ctt's, through
confluent-kafka's ``SchemaRegistryClient``, and Flink's ``avro-confluent``
format, through Confluent's Java client shaded in ``flink-sql-avro-confluent-registry``.
Anything else is answered 404 and recorded in :attr:`RegistryApp.unknown`,
which the fixtures assert is empty, so a client that starts calling something
new fails loudly here instead of passing against a lenient stand-in. Requests
must carry the API key as basic auth, as Confluent Cloud requires.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.contract.local_http import LocalServer

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
API_KEY, API_SECRET = "SRKEY", "sr-secret"

_SUBJECT = re.compile(r"^/subjects/(?P<s>[^/]+)(?:/versions(?:/(?P<v>[^/]+))?)?$")
_SCHEMA = re.compile(r"^/schemas/ids/(?P<id>\d+)(?P<sub>/subjects|/versions)?$")
_CONFIG = re.compile(r"^/config(?:/(?P<s>[^/]+))?$")


def _canonical(schema: str, schema_type: str) -> str:
    """Equal schemas compare equal whatever their whitespace (as the registry's lookup does)."""
    if schema_type in ("AVRO", "JSON"):
        try:
            return json.dumps(json.loads(schema), sort_keys=True, separators=(",", ":"))
        except ValueError:
            return schema
    return schema


@dataclass
class Version:
    id: int
    version: int
    deleted: bool = False


@dataclass
class RegistryApp:
    """Subjects, versions and schemas; every call recorded in :attr:`calls`."""

    auth: tuple[str, str] | None = (API_KEY, API_SECRET)
    schemas: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (type, text)
    subjects: dict[str, list[Version]] = field(default_factory=dict)
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, subject: str, schema: str, schema_type: str = "AVRO") -> int:
        """Register (idempotently) and return the schema's id, as ``POST .../versions`` does."""
        with self.lock:
            return self._register(subject, schema, schema_type)

    def _register(self, subject: str, schema: str, schema_type: str) -> int:
        canon = _canonical(schema, schema_type)
        sid = next(
            (i for i, (t, s) in self.schemas.items() if t == schema_type and s == canon), None
        )
        if sid is None:
            sid = len(self.schemas) + 1
            self.schemas[sid] = (schema_type, canon)
        versions = self.subjects.setdefault(subject, [])
        live = [v for v in versions if not v.deleted]
        if not any(v.id == sid for v in live):
            versions.append(Version(id=sid, version=len(versions) + 1))
        return sid

    def live(self, subject: str) -> list[Version]:
        return [v for v in self.subjects.get(subject, []) if not v.deleted]

    # ------------------------------------------------------------------ HTTP

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        url = urlsplit(raw_path)
        path, query = url.path, parse_qs(url.query)
        if self.auth is not None and not self._authorized(headers.get("authorization", "")):
            status, doc = 401, {"error_code": 401, "message": "Unauthorized"}
        else:
            with self.lock:
                status, doc = self._route(method, path, query, body)
        self.calls.append((method, path, status))
        return status, json.dumps(doc).encode(), {"Content-Type": CONTENT_TYPE}

    def _authorized(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (user, secret) == self.auth

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        doc = json.loads(body) if body else {}
        if path == "/subjects" and method == "GET":
            return 200, sorted(s for s in self.subjects if self.live(s))
        if (m := _SUBJECT.match(path)) is not None:
            subject, version = unquote(m["s"]), m["v"]
            versions_path = path.endswith("/versions") or version is not None
            if method == "POST" and path.endswith("/versions"):
                sid = self._register(subject, doc["schema"], doc.get("schemaType", "AVRO"))
                return 200, {"id": sid}
            if method == "POST" and not versions_path:
                return self._lookup(subject, doc)
            if method == "GET" and path.endswith("/versions"):
                return self._subject_or_404(subject, lambda vs: [v.version for v in vs])
            if method == "GET" and version is not None:
                return self._version(subject, version)
            if method == "DELETE" and not versions_path:
                return self._delete(subject, permanent=query.get("permanent") == ["true"])
        if (m := _SCHEMA.match(path)) is not None and method == "GET":
            return self._schema(int(m["id"]), m["sub"])
        if (m := _CONFIG.match(path)) is not None and method == "GET":
            return 200, {"compatibilityLevel": "NONE"}
        self.unknown.append(f"{method} {path}")
        return 404, {"error_code": 404, "message": f"HTTP 404 Not Found: {method} {path}"}

    def _subject_or_404(self, subject: str, then: Any) -> tuple[int, Any]:
        live = self.live(subject)
        if not live:
            return 404, {"error_code": 40401, "message": f"Subject '{subject}' not found."}
        return 200, then(live)

    def _describe(self, subject: str, v: Version) -> dict[str, Any]:
        schema_type, text = self.schemas[v.id]
        out: dict[str, Any] = {"subject": subject, "version": v.version, "id": v.id, "schema": text}
        if schema_type != "AVRO":
            out["schemaType"] = schema_type
        return out

    def _version(self, subject: str, version: str) -> tuple[int, Any]:
        status, live = self._subject_or_404(subject, lambda vs: vs)
        if status != 200:
            return status, live
        chosen = (
            live[-1]
            if version in ("latest", "-1")
            else next((v for v in live if str(v.version) == version), None)
        )
        if chosen is None:
            return 404, {"error_code": 40402, "message": f"Version {version} not found."}
        return 200, self._describe(subject, chosen)

    def _lookup(self, subject: str, doc: dict[str, Any]) -> tuple[int, Any]:
        status, live = self._subject_or_404(subject, lambda vs: vs)
        if status != 200:
            return status, live
        canon = _canonical(doc["schema"], doc.get("schemaType", "AVRO"))
        for v in live:
            if self.schemas[v.id][1] == canon:
                return 200, self._describe(subject, v)
        return 404, {"error_code": 40403, "message": "Schema not found"}

    def _delete(self, subject: str, *, permanent: bool) -> tuple[int, Any]:
        versions = self.subjects.get(subject, [])
        if permanent:
            if not versions:
                return 404, {"error_code": 40401, "message": f"Subject '{subject}' not found."}
            self.subjects.pop(subject)
            return 200, [v.version for v in versions]
        status, live = self._subject_or_404(subject, lambda vs: vs)
        if status != 200:
            return status, live
        for v in live:
            v.deleted = True
        return 200, [v.version for v in live]

    def _schema(self, sid: int, sub: str | None) -> tuple[int, Any]:
        if sid not in self.schemas:
            return 404, {"error_code": 40403, "message": f"Schema {sid} not found"}
        schema_type, text = self.schemas[sid]
        using = [(s, v) for s in self.subjects for v in self.live(s) if v.id == sid]
        if sub == "/subjects":
            return 200, sorted({s for s, _ in using})
        if sub == "/versions":
            return 200, [{"subject": s, "version": v.version} for s, v in using]
        out: dict[str, Any] = {"schema": text}
        if schema_type != "AVRO":
            out["schemaType"] = schema_type
        return 200, out


class RegistryServer(LocalServer):
    """Runs a :class:`RegistryApp` on 127.0.0.1 and a free port until :meth:`close`."""

    def __init__(self, app: RegistryApp | None = None) -> None:
        self.app = app or RegistryApp()
        super().__init__(self.app)

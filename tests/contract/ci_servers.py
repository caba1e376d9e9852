"""Local stand-ins for the services ctt's CI integrations talk to, built from their public docs.

- GitLab REST API v4 (docs.gitlab.com/api): ``pipeline_schedules`` (+ ``variables``),
  ``trigger/pipeline``, ``pipelines/:id``, ``merge_requests/:iid/notes``. Auth by the
  ``PRIVATE-TOKEN`` header (401 otherwise), the trigger token in the form body (404 when wrong,
  as GitLab answers), offset pagination (``page``/``per_page``, ``X-Next-Page``, ``X-Total``),
  errors as ``{"message": ...}``.
- Slack incoming webhooks (api.slack.com/messaging/webhooks): JSON with ``text`` or
  ``blocks``; ``ok``, ``invalid_payload`` (400), ``no_service`` (404), 429 with Retry-After.
- Microsoft Teams incoming webhooks / workflows: a ``message`` with Adaptive Card attachments;
  202 Accepted.
- Prometheus pushgateway (github.com/prometheus/pushgateway README): PUT/POST/DELETE on
  ``/metrics/job/<job>{/<label>/<value>}`` (``@base64`` values), text format checked with
  prometheus_client's parser; 400 on a bad body.
- An OTLP/HTTP receiver (opentelemetry.io/docs/specs/otlp): POST ``/v1/metrics`` with
  ``application/x-protobuf``, decoded with opentelemetry-proto; an
  ``ExportMetricsServiceResponse`` back.

Each server can be told to fail the next requests (``fail_next``: status and headers), so the
retry rules are tested against real HTTP, and records every request it saw.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from croniter import croniter


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        ctype = self.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            return {k: v for k, v in (self.json() or {}).items()}
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, doc: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(doc).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def text(cls, status: int, text: str) -> Reply:
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


class Server:
    """A threaded HTTP server on a free port; subclasses implement :meth:`handle`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.fail_next: list[tuple[int, dict[str, str]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with outer.lock:
                    outer.requests.append(req)
                    failing = outer.fail_next.pop(0) if outer.fail_next else None
                    if failing is not None:
                        reply = Reply.json(failing[0], {"message": "injected"}, failing[1])
                    else:
                        reply = outer.handle(req)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def handle(self, req: Request) -> Reply:
        raise NotImplementedError

    @contextmanager
    def running(self) -> Iterator[Server]:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class GitLabServer(Server):
    """One project (id ``PROJECT``, path ``group/app``) with refs ``main`` and ``develop``."""

    PROJECT = 42
    REFS = ("main", "develop")
    PER_PAGE_MAX = 100

    def __init__(self, token: str, trigger_token: str) -> None:
        super().__init__()
        self.token = token
        self.trigger_token = trigger_token
        self.schedules: dict[int, dict[str, Any]] = {}
        self.pipelines: dict[int, dict[str, Any]] = {}
        self.status_script: list[str] = ["pending", "running", "running", "success"]
        self.notes: dict[int, list[dict[str, Any]]] = {7: []}  # MR iid -> notes
        self.ids = iter(range(1000, 10**6))

    @property
    def api(self) -> str:
        return self.url + "/api/v4"

    def _page(self, req: Request, items: list[Any]) -> Reply:
        q = parse_qs(urlsplit(req.path).query)
        page = int(q.get("page", ["1"])[0])
        per = min(int(q.get("per_page", ["20"])[0]), self.PER_PAGE_MAX)
        chunk = items[(page - 1) * per : page * per]
        pages = max((len(items) + per - 1) // per, 1)
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(pages),
            "X-Next-Page": str(page + 1) if page < pages else "",
        }
        return Reply.json(200, chunk, headers)

    def handle(self, req: Request) -> Reply:
        path = unquote(urlsplit(req.path).path)
        m = re.match(r"^/api/v4/projects/(?P<proj>[^/]+)(?P<rest>/.*)$", path)
        if not m or m["proj"] not in (str(self.PROJECT), "group/app"):
            return Reply.json(404, {"message": "404 Project Not Found"})
        rest = m["rest"]
        if rest == "/trigger/pipeline" and req.method == "POST":
            return self._trigger(req)
        if req.headers.get("private-token") != self.token:
            return Reply.json(401, {"message": "401 Unauthorized"})
        if rest.startswith("/pipeline_schedules"):
            return self._schedules(req, rest)
        pm = re.match(r"^/pipelines/(\d+)$", rest)
        if pm and req.method == "GET":
            return self._pipeline(int(pm[1]))
        nm = re.match(r"^/merge_requests/(\d+)/notes(?:/(\d+))?$", rest)
        if nm:
            return self._notes(req, int(nm[1]), int(nm[2]) if nm[2] else None)
        return Reply.json(404, {"error": "404 Not Found"})

    # --- schedules ---

    def _schedule_doc(self, s: dict[str, Any], with_variables: bool) -> dict[str, Any]:
        doc = {k: v for k, v in s.items() if k != "variables"}
        it = croniter(s["cron"], datetime.now(UTC))
        doc["next_run_at"] = it.get_next(datetime).isoformat().replace("+00:00", "Z")
        if with_variables:
            doc["variables"] = list(s["variables"].values())
        return doc

    def _schedules(self, req: Request, rest: str) -> Reply:
        if rest == "/pipeline_schedules":
            if req.method == "GET":
                docs = [self._schedule_doc(s, False) for s in self.schedules.values()]
                return self._page(req, docs)
            if req.method == "POST":
                f = req.form()
                missing = [k for k in ("description", "ref", "cron") if not f.get(k)]
                if missing:
                    return Reply.json(400, {"error": f"{missing[0]} is missing"})
                if not croniter.is_valid(f["cron"]):
                    return Reply.json(400, {"message": {"cron": ["is invalid syntax"]}})
                sid = next(self.ids)
                self.schedules[sid] = {
                    "id": sid,
                    "description": f["description"],
                    "ref": f["ref"],
                    "cron": f["cron"],
                    "cron_timezone": f.get("cron_timezone") or "UTC",
                    "active": f.get("active", True) not in (False, "false"),
                    "created_at": _now(),
                    "updated_at": _now(),
                    "owner": {"id": 1, "username": "bot"},
                    "variables": {},
                }
                return Reply.json(201, self._schedule_doc(self.schedules[sid], True))
        m = re.match(r"^/pipeline_schedules/(\d+)(?P<var>/variables(?:/(?P<key>[^/]+))?)?$", rest)
        if not m or int(m[1]) not in self.schedules:
            return Reply.json(404, {"message": "404 Pipeline Schedule Not Found"})
        s = self.schedules[int(m[1])]
        if not m["var"]:
            if req.method == "GET":
                return Reply.json(200, self._schedule_doc(s, True))
            if req.method == "PUT":
                f = req.form()
                if "cron" in f and not croniter.is_valid(f["cron"]):
                    return Reply.json(400, {"message": {"cron": ["is invalid syntax"]}})
                for k in ("description", "ref", "cron", "cron_timezone", "active"):
                    if k in f:
                        s[k] = f[k] if k != "active" else f[k] not in (False, "false")
                s["updated_at"] = _now()
                return Reply.json(200, self._schedule_doc(s, True))
            return Reply.json(405, {"message": "405 Method Not Allowed"})
        key = m["key"]
        if key is None and req.method == "POST":
            f = req.form()
            if not f.get("key") or "value" not in f:
                return Reply.json(
                    400, {"error": "key is missing" if not f.get("key") else "value is missing"}
                )
            if f["key"] in s["variables"]:
                return Reply.json(400, {"message": {"key": ["has already been taken"]}})
            s["variables"][f["key"]] = {
                "key": f["key"],
                "value": f["value"],
                "variable_type": f.get("variable_type", "env_var"),
            }
            return Reply.json(201, s["variables"][f["key"]])
        if key is not None:
            if key not in s["variables"]:
                return Reply.json(404, {"message": "404 Variable Not Found"})
            if req.method == "PUT":
                s["variables"][key]["value"] = req.form()["value"]
                return Reply.json(200, s["variables"][key])
            if req.method == "DELETE":
                return Reply.json(202, s["variables"].pop(key))
        return Reply.json(405, {"message": "405 Method Not Allowed"})

    # --- pipelines ---

    def _trigger(self, req: Request) -> Reply:
        f = req.form()
        if not f.get("token"):
            return Reply.json(400, {"error": "token is missing"})
        if not f.get("ref"):
            return Reply.json(400, {"error": "ref is missing"})
        if f["token"] != self.trigger_token:
            return Reply.json(404, {"message": "404 Not Found"})
        if f["ref"] not in self.REFS:
            return Reply.json(400, {"message": {"base": ["Reference not found"]}})
        pid = next(self.ids)
        variables = {
            k[len("variables[") : -1]: v
            for k, v in f.items()
            if k.startswith("variables[") and k.endswith("]")
        }
        self.pipelines[pid] = {
            "id": pid,
            "iid": len(self.pipelines) + 1,
            "project_id": self.PROJECT,
            "sha": "a" * 40,
            "ref": f["ref"],
            "status": "created",
            "source": "trigger",
            "created_at": _now(),
            "updated_at": _now(),
            "web_url": f"https://gitlab.example.com/group/app/-/pipelines/{pid}",
            "_variables": variables,
            "_polls": 0,
        }
        return Reply.json(201, self._public(self.pipelines[pid]))

    def _public(self, p: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in p.items() if not k.startswith("_")}

    def _pipeline(self, pid: int) -> Reply:
        p = self.pipelines.get(pid)
        if p is None:
            return Reply.json(404, {"message": "404 Not found"})
        script = self.status_script
        p["status"] = script[min(p["_polls"], len(script) - 1)]
        p["_polls"] += 1
        return Reply.json(200, self._public(p))

    # --- notes ---

    def _notes(self, req: Request, iid: int, note_id: int | None) -> Reply:
        notes = self.notes.get(iid)
        if notes is None:
            return Reply.json(404, {"message": "404 Not found"})
        if note_id is None:
            if req.method == "GET":
                return self._page(req, sorted(notes, key=lambda n: -n["id"]))
            if req.method == "POST":
                body = req.form().get("body")
                if not body:
                    return Reply.json(400, {"error": "body is missing"})
                note = {
                    "id": next(self.ids),
                    "body": body,
                    "author": {"id": 1, "username": "bot"},
                    "created_at": _now(),
                    "updated_at": _now(),
                    "system": False,
                    "noteable_id": 500,
                    "noteable_type": "MergeRequest",
                    "noteable_iid": iid,
                }
                notes.append(note)
                return Reply.json(201, note)
            return Reply.json(405, {"message": "405 Method Not Allowed"})
        found = next((n for n in notes if n["id"] == note_id), None)
        if found is None:
            return Reply.json(404, {"message": "404 Note Not Found"})
        if req.method == "PUT":
            body = req.form().get("body")
            if not body:
                return Reply.json(400, {"error": "body is missing"})
            found["body"] = body
            found["updated_at"] = _now()
            return Reply.json(200, found)
        return Reply.json(405, {"message": "405 Method Not Allowed"})


class SlackServer(Server):
    """``POST /services/T.../B.../secret``: Slack's incoming webhook answers."""

    PATH = "/services/T0000/B0000/s3cr3tW3bh00kT0k3n"

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, Any]] = []

    def handle(self, req: Request) -> Reply:
        if req.method != "POST" or urlsplit(req.path).path != self.PATH:
            return Reply.text(404, "no_service")
        try:
            doc = req.json()
        except json.JSONDecodeError:
            return Reply.text(400, "invalid_payload")
        if not isinstance(doc, dict) or not (doc.get("text") or doc.get("blocks")):
            return Reply.text(400, "no_text")
        blocks = doc.get("blocks") or []
        if len(blocks) > 50:
            return Reply.text(400, "invalid_blocks")
        for b in blocks:
            text = (b.get("text") or {}).get("text", "")
            if b.get("type") == "header" and (
                b["text"].get("type") != "plain_text" or len(text) > 150
            ):
                return Reply.text(400, "invalid_blocks")
            if b.get("type") == "section" and len(text) > 3000:
                return Reply.text(400, "invalid_blocks")
            if b.get("type") not in ("header", "section", "context", "divider"):
                return Reply.text(400, "invalid_blocks")
        self.messages.append(doc)
        return Reply.text(200, "ok")

    @property
    def webhook(self) -> str:
        return self.url + self.PATH


class TeamsServer(Server):
    """A Teams workflow webhook: a ``message`` whose attachments are Adaptive Cards."""

    PATH = "/workflows/0123456789abcdef/triggers/manual/paths/invoke"
    QUERY = "?api-version=1&sig=t3amsS1gnatur3"

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, Any]] = []

    def handle(self, req: Request) -> Reply:
        parts = urlsplit(req.path)
        if (
            req.method != "POST"
            or parts.path != self.PATH
            or "sig=t3amsS1gnatur3" not in parts.query
        ):
            return Reply.json(401, {"error": {"code": "DirectApiAuthorizationRequired"}})
        doc = req.json()
        ok = (
            isinstance(doc, dict)
            and doc.get("type") == "message"
            and doc.get("attachments")
            and all(
                a.get("contentType") == "application/vnd.microsoft.card.adaptive"
                and a.get("content", {}).get("type") == "AdaptiveCard"
                and a["content"].get("version")
                and isinstance(a["content"].get("body"), list)
                for a in doc["attachments"]
            )
        )
        if not ok:
            return Reply.json(400, {"error": {"code": "InvalidRequestContent"}})
        self.messages.append(doc)
        return Reply(202)

    @property
    def webhook(self) -> str:
        return self.url + self.PATH + self.QUERY


class PushgatewayServer(Server):
    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[tuple[tuple[str, str], ...], list[Any]] = {}

    @staticmethod
    def grouping(path: str) -> dict[str, str]:
        parts = path.split("/")[2:]  # after /metrics/
        out = {}
        for label, value in zip(parts[::2], parts[1::2], strict=True):
            if label.endswith("@base64"):
                label = label[: -len("@base64")]
                value = (
                    base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
                    if value != "="
                    else ""
                )
            else:
                value = unquote(value)
            out[label] = value
        return out

    def handle(self, req: Request) -> Reply:
        from prometheus_client.parser import text_string_to_metric_families

        path = urlsplit(req.path).path
        if not path.startswith("/metrics/job/") or len(path.split("/")) % 2 != 0:
            return Reply.text(404, "404 page not found")
        try:
            key = tuple(sorted(self.grouping(path).items()))
        except ValueError:
            return Reply.text(400, "bad label encoding")
        if req.method == "DELETE":
            self.groups.pop(key, None)
            return Reply(202)
        if req.method not in ("PUT", "POST"):
            return Reply.text(405, "Method Not Allowed")
        try:
            families = list(text_string_to_metric_families(req.body.decode()))
        except Exception as exc:  # the parser raises ValueError and others
            return Reply.text(400, f"text format parsing error: {exc}")
        self.groups[key] = families
        return Reply(200)


class OtlpServer(Server):
    def __init__(self) -> None:
        super().__init__()
        self.exports: list[Any] = []

    def handle(self, req: Request) -> Reply:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
            ExportMetricsServiceResponse,
        )

        if urlsplit(req.path).path != "/v1/metrics" or req.method != "POST":
            return Reply(404)
        if req.headers.get("content-type") != "application/x-protobuf":
            return Reply(415)
        body = req.body
        if req.headers.get("content-encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        msg = ExportMetricsServiceRequest()
        msg.ParseFromString(body)
        self.exports.append(msg)
        return Reply(
            200,
            ExportMetricsServiceResponse().SerializeToString(),
            {"Content-Type": "application/x-protobuf"},
        )

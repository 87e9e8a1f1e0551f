"""A real HTTP server on 127.0.0.1 that plays the data service and the creative service.

It implements the contract of docs/upstream-http.md over in-memory data, enforcing its limits
(page size, batch size, bearer token), and lets a test script misbehaviour per route: a status
with headers (503, 429 + Retry-After), a delay, a dropped connection, a non-JSON body; once
(`fail_next`) or until told otherwise (`fail_always`). Every request is recorded, so a test can
count what actually reached the wire. The server runs in a daemon thread and can be stopped and
restarted on the same port to play a service that went away.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from domain.audience.conditions import matches_all
from domain.audience.model import Condition, ConditionOperator

MEMBERS, COUNT, PROFILES, TEMPLATES = "members", "count", "profiles", "templates"
SCHEMA = "schema"
ROUTES = {
    "/v1/intelligent_query/members": MEMBERS,
    "/v1/intelligent_query/count": COUNT,
    "/v1/user_360/profiles:batchGet": PROFILES,
    "/v1/user_360/schema": SCHEMA,
}
ANY_ROUTE = "*"


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering: `delay` first, then drop, or answer `status`."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    body: bytes | None = None


SERVICE_UNAVAILABLE = Fault(status=503)


@dataclass(frozen=True)
class Recorded:
    route: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    at: float


class FakeUpstreams:
    def __init__(
        self, *, token: str | None = None, max_page: int = 10_000, max_batch: int = 1_000
    ) -> None:
        self.token = token
        self.max_page = max_page
        self.max_batch = max_batch
        self.profiles: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.segments: dict[tuple[str, str], list[str]] = {}
        self.templates: dict[tuple[str, str], dict[str, Any]] = {}
        self.schemas: dict[str, list[str]] = {}  # an organization without one: 404
        self.requests: list[Recorded] = []
        self._resolved: dict[str, list[str]] = {}  # memo: a 5,000-profile scan per page is slow
        self._queued: dict[str, deque[Fault]] = defaultdict(deque)
        self._always: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (on a free port the first time, on the same port after a stop)."""
        self._stopping.clear()
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.fake = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting and close the listener: new connections are refused."""
        self._stopping.set()  # wakes handlers sleeping in a scripted delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.hang_up_everyone()
            self._server = None

    @contextmanager
    def running(self) -> Iterator[FakeUpstreams]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    # --- data --------------------------------------------------------------------------------

    def add_profiles(self, organization_id: str, profiles: list[dict[str, Any]]) -> None:
        self._resolved.clear()
        for profile in profiles:
            self.profiles[organization_id][profile["user_id"]] = profile

    def add_segment(self, organization_id: str, segment_id: str, user_ids: list[str]) -> None:
        self._resolved.clear()
        self.segments[(organization_id, segment_id)] = sorted(set(user_ids))

    def set_schema(self, organization_id: str, fields: list[str]) -> None:
        self.schemas[organization_id] = fields

    def add_template(self, organization_id: str, template: dict[str, Any]) -> None:
        self.templates[(organization_id, template["template_id"])] = template

    # --- scripting and observation -----------------------------------------------------------

    def fail_next(self, route: str, *faults: Fault) -> None:
        with self._lock:
            self._queued[route].extend(faults)

    def fail_always(self, route: str, fault: Fault | None) -> None:
        """`fault` for every request of `route` (ANY_ROUTE: all of them); None heals it."""
        with self._lock:
            if fault is None:
                self._always.pop(route, None)
            else:
                self._always[route] = fault

    def count(self, route: str = ANY_ROUTE) -> int:
        with self._lock:
            return sum(route in (ANY_ROUTE, r.route) for r in self.requests)

    def of(self, route: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    def _record_and_script(self, recorded: Recorded) -> Fault | None:
        with self._lock:
            self.requests.append(recorded)
            for key in (recorded.route, ANY_ROUTE):
                if self._queued[key]:
                    return self._queued[key].popleft()
            return self._always.get(recorded.route) or self._always.get(ANY_ROUTE)

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # --- the services ------------------------------------------------------------------------

    def answer(self, route: str, body: Any, query: Mapping[str, str]) -> tuple[int, Any]:
        if route == TEMPLATES:
            return self._template(query)
        if route == SCHEMA:
            fields = self.schemas.get(query.get("organization_id", ""))
            return (200, {"fields": fields}) if fields is not None else (404, {"error": "none"})
        if not isinstance(body, dict) or not body.get("organization_id"):
            return 400, {"error": "organization_id is required"}
        if route == PROFILES:
            return self._profiles(body)
        members = self._members(body)
        if members is None:
            return 404, {"error": "unknown segment"}
        if route == COUNT:
            return 200, {"count": len(members)}
        return self._page(members, body)

    def _members(self, body: dict[str, Any]) -> list[str] | None:
        organization_id = body["organization_id"]
        if "segment_id" in body:
            return self.segments.get((organization_id, body["segment_id"]))
        key = json.dumps([organization_id, body.get("conditions")], sort_keys=True)
        if key not in self._resolved:
            self._resolved[key] = self._query(organization_id, body.get("conditions", []))
        return self._resolved[key]

    def _query(self, organization_id: str, raw_conditions: list[dict[str, Any]]) -> list[str]:
        conditions = [
            Condition(c["field"], ConditionOperator(c["operator"]), _value(c.get("value")))
            for c in raw_conditions
        ]
        return sorted(
            user_id
            for user_id, profile in self.profiles[organization_id].items()
            if matches_all(conditions, _condition_view(profile))
        )

    def _page(self, members: list[str], body: dict[str, Any]) -> tuple[int, Any]:
        limit = body.get("limit", 0)
        if not isinstance(limit, int) or not 0 < limit <= self.max_page:
            return 400, {"error": f"limit must be 1..{self.max_page}"}
        after = body.get("after_user_id", "")
        start = bisect_right(members, after)
        page = members[start : start + limit]
        more = start + limit < len(members)
        return 200, {"user_ids": page, "next_after_user_id": page[-1] if more else None}

    def _profiles(self, body: dict[str, Any]) -> tuple[int, Any]:
        user_ids = body.get("user_ids", [])
        if len(user_ids) > self.max_batch:
            return 400, {"error": f"at most {self.max_batch} user_ids"}
        known = self.profiles[body["organization_id"]]
        return 200, {"profiles": [known[u] for u in user_ids if u in known]}

    def _template(self, query: Mapping[str, str]) -> tuple[int, Any]:
        template_id = query["path"].removeprefix("/v1/templates/")
        template = self.templates.get((query.get("organization_id", ""), template_id))
        return (200, template) if template is not None else (404, {"error": "unknown template"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeUpstreams

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def hang_up_everyone(self) -> None:
        """Kept-alive connections would outlive the listener; a dead service has none."""
        with self.connections_lock:
            for connection in self.open_connections:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up on a slow answer are part of the tests, not errors."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the pooled client expects
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        with suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        route = ROUTES.get(url.path, "")
        if not route and url.path.startswith("/v1/templates/"):
            route = TEMPLATES
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        fault = fake._record_and_script(
            Recorded(route, self.command, url.path, query, body, headers, time.monotonic())
        )
        if fault is not None:
            if fault.delay:
                fake._sleep(fault.delay)
            if fault.drop:
                self._drop()
                return
            if fault.status is not None:
                self._send(fault.status, fault.body or b'{"error": "scripted"}', fault.headers)
                return
        if fake.token and headers.get("authorization") != f"Bearer {fake.token}":
            self._json(401, {"error": "bad or missing bearer token"})
        elif not route:
            self._json(404, {"error": "no such route"})
        elif fault is not None and fault.body is not None:
            self._send(200, fault.body, {})
        else:
            self._json(*fake.answer(route, body, {**query, "path": unquote(url.path)}))

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), {})

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client gave up (its read timeout)

    def _drop(self) -> None:
        """Hang up without a byte of response: the client sees the connection die mid-request."""
        self.close_connection = True
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _value(raw: Any) -> Any:
    """A wire value as the domain holds it: a list is an in/not_in tuple, absent is None."""
    return tuple(raw) if isinstance(raw, list) else raw


def _condition_view(profile: dict[str, Any]) -> dict[str, Any]:
    """What conditions see (docs/upstream-http.md): the attributes, overridden by the profile's
    own fields; `attributes` itself is not a field."""
    own = {k: v for k, v in profile.items() if k != "attributes"}
    return {**profile.get("attributes", {}), **own}

"""The shared part of the fake help desks: a threaded HTTP server on loopback.

A vendor fake (``zendesk_fake``, ``freshdesk_fake``, ``slack_fake``) subclasses
:class:`FakeDesk` with ``authorized`` (its auth scheme) and ``route`` (its documented
endpoints, over in-memory state). The base records every request and can be told to
misbehave for the next matching requests::

    desk.fail_next(429, headers={"Retry-After": "30"})      # answer without doing
    desk.fail_next(500, method="POST", path="/api/v2/tickets")
    desk.stall_next(3.0, method="POST")   # do the work, then answer too late

A stalled request is processed first, so a client that times out has created what
it asked for: the ambiguous failure an idempotent client must survive.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True, slots=True)
class Request:
    """One request as received (header names lower-cased)."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    authorized: bool

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class _Fault:
    method: str | None
    path: str | None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stall_seconds: float = 0.0
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or path.startswith(self.path)
        )


def json_reply(status: int, document: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(document, default=_stored_bytes).encode(),
    )


def _stored_bytes(value: object) -> str:
    # Uploaded files are kept as bytes for assertions; a desk's JSON names them by size.
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class FakeDesk:
    """Serve ``route`` on 127.0.0.1 at a free port; a context manager."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._faults: deque[_Fault] = deque()
        self._requests: list[Request] = []
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what a vendor fake provides -----------------------------------------------

    def authorized(self, request: Request) -> bool:
        raise NotImplementedError

    def unauthorized(self, request: Request) -> Reply:
        return json_reply(401, {"error": "Couldn't authenticate you"})

    def route(self, request: Request) -> Reply:
        raise NotImplementedError

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Self:
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = False
        server.block_on_close = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is None:
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- scripting and inspection --------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``, doing nothing."""
        payload = b"" if body is None else json.dumps(body).encode()
        fault_headers = {"Content-Type": "application/json"} if body is not None else {}
        fault_headers.update(headers or {})
        with self.lock:
            self._faults.append(_Fault(method, path, status, fault_headers, payload, 0.0, times))

    def stall_next(
        self, seconds: float, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Process the next matching request, then wait ``seconds`` before answering."""
        with self.lock:
            self._faults.append(_Fault(method, path, stall_seconds=seconds))

    @property
    def requests(self) -> list[Request]:
        with self.lock:
            return list(self._requests)

    def calls(self, method: str, path: str = "") -> list[Request]:
        """The requests with ``method`` whose path starts with ``path``."""
        return [r for r in self.requests if r.method == method and r.path.startswith(path)]

    # -- called from handler threads -----------------------------------------------

    def _handle(self, request: Request) -> tuple[Reply, float]:
        with self.lock:
            self._requests.append(request)
            self._changed.notify_all()
            fault = next((f for f in self._faults if f.matches(request.method, request.path)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            if fault is not None and fault.status is not None:
                return (fault.status, fault.headers, fault.body), 0.0
            if not request.authorized:
                return self.unauthorized(request), 0.0
            reply = self.route(request)
        return reply, fault.stall_seconds if fault is not None else 0.0


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up on a stalled answer is what timeout tests do.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(desk: FakeDesk) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers=headers,
                body=body,
                authorized=False,
            )
            request = replace(request, authorized=desk.authorized(request))
            (status, reply_headers, payload), stall = desk._handle(request)
            if stall and desk._closing.wait(stall):
                return
            try:
                self.send_response(status)
                for name, value in reply_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except ConnectionError:
                pass  # the client gave up waiting

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler

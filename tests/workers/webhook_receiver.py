"""A real HTTP server on loopback that plays a webhook receiver in tests.

It answers from a script of responses (then ``200 {"id": "ext-<n>"}`` by default),
records every request it gets, and checks each one's omniroute signature::

    with WebhookReceiver(secret=b"s3cret") as receiver:
        receiver.enqueue(503, body=b"maintenance", headers={"Retry-After": "30"})
        ...  # point a WebhookDestination at receiver.url_for("/hook") and deliver
        first, second = receiver.wait_for(2, timeout=5)
        assert first.signature_valid

``delay_seconds`` (for every response) or a scripted response's own delay make it
slow, for timeout tests. Closing the receiver wakes delayed handlers and joins every
handler thread, so nothing outlives a test. Requests must carry Content-Length
(httpx does for byte bodies); bodies above ``max_body_bytes`` are refused with 413.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from workers.delivery.desks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass(frozen=True, slots=True)
class ScriptedResponse:
    """One answer the receiver will give, after waiting ``delay_seconds``."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as received. ``signature_valid`` is None when no secret was given."""

    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    signature_valid: bool | None
    received_at: float

    def header(self, name: str) -> str | None:
        """A header's value, matched case-insensitively."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class WebhookReceiver:
    """Threaded loopback HTTP server; use as a context manager or call start()/close().

    Thread-safe: tests may enqueue and inspect while requests are being served.
    """

    def __init__(
        self,
        *,
        secret: bytes | None = None,
        delay_seconds: float = 0.0,
        tolerance_seconds: int = 300,
        max_body_bytes: int = 1024 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self.delay_seconds = delay_seconds
        self.tolerance_seconds = tolerance_seconds
        self.max_body_bytes = max_body_bytes
        self._clock = clock
        self._lock = threading.Condition()
        self._script: deque[ScriptedResponse] = deque()
        self._requests: list[RecordedRequest] = []
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("receiver already started")
        server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        # Join handler threads on close; delayed ones are woken by _closing first.
        server.daemon_threads = False
        server.block_on_close = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake delayed handlers, and join every thread."""
        if self._server is None:
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- addresses ----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("receiver not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, path: str = "/hook") -> str:
        return self.url + path

    # -- scripting and inspection -------------------------------------------------

    def enqueue(
        self,
        status: int = 200,
        *,
        body: bytes | str | Mapping[str, Any] = b"",
        headers: Mapping[str, str] | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        """Queue the next answer. A mapping body is sent as JSON, a str as UTF-8."""
        headers = dict(headers or {})
        if isinstance(body, Mapping):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        with self._lock:
            self._script.append(ScriptedResponse(status, headers, body, delay_seconds))

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``count`` requests have arrived; return the snapshot.

        Raises TimeoutError naming how many did arrive.
        """
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(
                    f"expected {count} requests within {timeout}s, got {len(self._requests)}"
                )
            return list(self._requests)

    # -- called from handler threads ----------------------------------------------

    def _record(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, ScriptedResponse]:
        valid: bool | None = None
        if self.secret is not None:
            valid = verify(
                self.secret,
                headers.get(TIMESTAMP_HEADER.lower(), ""),
                headers.get(SIGNATURE_HEADER.lower(), ""),
                body,
                now=int(self._clock()),
                tolerance_seconds=self.tolerance_seconds,
            )
        request = RecordedRequest(method, path, headers, body, valid, self._clock())
        with self._lock:
            self._requests.append(request)
            number = len(self._requests)
            scripted = self._script.popleft() if self._script else None
            self._lock.notify_all()
        if scripted is None:
            scripted = ScriptedResponse(
                200,
                {"Content-Type": "application/json"},
                json.dumps({"id": f"ext-{number}"}).encode(),
            )
        return number, scripted


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is what timeout tests do; anything else is a
        # bug in a test and should be loud.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # A client that never finishes its request cannot keep close() waiting long.
        timeout = 10

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > receiver.max_body_bytes:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            _, scripted = receiver._record(self.command, self.path, headers, body)
            delay = scripted.delay_seconds or receiver.delay_seconds
            if delay and receiver._closing.wait(delay):
                return  # shutting down: leave without answering
            try:
                self.send_response(scripted.status)
                for name, value in scripted.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(scripted.body)))
                self.end_headers()
                self.wfile.write(scripted.body)
            except ConnectionError:
                pass  # the client gave up (a timeout test); nothing to answer

        do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler

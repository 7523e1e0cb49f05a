"""Small real servers for tests: free ports, an SMTP sink, our SMTP edge on a port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session, sessionmaker

from channels.smtp import IngestHandler, start_smtp_server
from channels.smtp_limits import SmtpLimits
from ingest.raw_inputs import RawSpill


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what or predicate}")


@dataclass
class SinkHandler:
    """Collects every message an SMTP client hands it (stands in for a mail relay)."""

    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
            )
        return "250 OK"


@contextmanager
def smtp_sink() -> Iterator[tuple[SinkHandler, int]]:
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@contextmanager
def smtp_edge(
    sessions: sessionmaker[Session],
    recipients: tuple[str, ...] = ("support@example.com",),
    max_bytes: int = 1024 * 1024,
    on_accepted: Callable[[], None] | None = None,
    limits: SmtpLimits | None = None,
    spill: RawSpill | None = None,
) -> Iterator[tuple[IngestHandler, int]]:
    limits = limits or SmtpLimits(max_message_bytes=max_bytes)
    handler = IngestHandler(sessions, recipients, on_accepted, limits, spill=spill)
    port = free_port()
    controller = start_smtp_server(handler, host="127.0.0.1", port=port, hostname="mx.example.com")
    try:
        yield handler, port
    finally:
        controller.stop()
        handler.close()


@contextmanager
def http_server(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=15, what="uvicorn start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""Waking the outbox relay from an edge process on the same host.

An edge commits an input together with its ingest work; the relay would find that
work on its next poll. Instead, after each commit the edge sends one datagram to a
Linux abstract socket named after the store, and the process running the relay
listens there and starts a pass at once. Nothing depends on the datagram arriving
(no listener, a full queue, another operating system, another host): the poll
remains the safety net. One listener per store and host: a second relay on the same
store polls only.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)

# How often the listening thread looks at its stop flag.
TICK_SECONDS = 0.5


def wake_address(database_url: str) -> str:
    """The abstract socket's name for the store at ``database_url`` (no file is made)."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:24]
    return f"\0omniroute-relay-{digest}"


class WakeSender:
    """Called after an edge's commit: tells a listening relay there is work, or nothing."""

    def __init__(self, database_url: str) -> None:
        self._address = wake_address(database_url)
        self._socket: socket.socket | None = None

    def __call__(self) -> None:
        try:
            if self._socket is None:
                # Made on first use, in the process that sends (an edge may be forked).
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.setblocking(False)
            self._socket.sendto(b"\x01", self._address)
        except OSError:
            pass  # nobody listening, or the queue is full: the relay's poll finds the work


@contextlib.contextmanager
def wake_listener(database_url: str, wake: threading.Event) -> Iterator[bool]:
    """Set ``wake`` whenever an edge on this host signals work; yields whether it listens."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        listener.bind(wake_address(database_url))
    except OSError as exc:
        listener.close()
        log.info("outbox relay: not listening for edges' wake-ups (%s); polling only", exc)
        yield False
        return
    listener.settimeout(TICK_SECONDS)
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                listener.recv(64)
            except TimeoutError:
                continue
            except OSError:
                return
            wake.set()

    thread = threading.Thread(target=listen, name="relay-wake", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        stop.set()
        thread.join(timeout=TICK_SECONDS * 4)
        listener.close()

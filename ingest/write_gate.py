"""SQLite's one write lock, handed from writer to writer without sleeps, edges first.

SQLite lets one connection write at a time. A connection that finds the lock taken
sleeps in SQLite's busy handler (1, 2, 5, ... up to 100 ms between tries) and holds
no place in a queue: with several worker threads writing back to back, the lock sits
idle while the waiters sleep, and an edge's accept (the SMTP ``250``, a form's ticket
number) can wait a second behind work that nobody is waiting for. So, per database
file:

- In a process, writers queue at a ``WriterGate`` held from ``BEGIN IMMEDIATE`` to
  ``COMMIT``/``ROLLBACK``: the next writer is woken the moment the one before it is
  done, first come first served, except that edge writers go before the rest.
- Across processes, an edge writer that has passed its own process's gate announces
  itself while it waits for SQLite's lock by holding a shared ``flock`` on
  ``<database>-edge``; a non-edge writer looks there before each ``BEGIN`` and lets
  it go first (for a bounded time, so a stuck edge cannot stop the workers).

A thread is an edge writer inside ``edge_writes()`` (the SMTP, Slack and Twilio
accept writer, a form's store step). Reads (``BEGIN DEFERRED`` in WAL) pass no gate.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# How long a worker lets another process's waiting edge go first before it writes anyway.
EDGE_DEFERENCE_SECONDS = 0.5
_DEFERENCE_POLL_SECONDS = 0.001

_local = threading.local()


@contextmanager
def edge_writes() -> Iterator[None]:
    """Mark this thread's writes as an edge's: someone is waiting for their answer."""
    before = getattr(_local, "edge", False)
    _local.edge = True
    try:
        yield
    finally:
        _local.edge = before


def is_edge_thread() -> bool:
    return bool(getattr(_local, "edge", False))


@dataclass(eq=False)
class _Waiter:
    granted: threading.Event = field(default_factory=threading.Event)


class WriterGate:
    """A first-come-first-served lock with a fast lane for edges, and a timeout.

    It is released by whichever thread ends the transaction, so it keeps no
    thread ownership; ``owner`` is the connection that holds it.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._edges: deque[_Waiter] = deque()
        self._others: deque[_Waiter] = deque()
        self.owner: object | None = None
        self._thread: int | None = None

    def held_by_this_thread(self) -> bool:
        return self._thread == threading.get_ident()

    def acquire(self, owner: object, *, edge: bool, timeout: float) -> bool:
        with self._mutex:
            if self.owner is None:  # free, so no one is queued: ``release`` hands over
                self.owner, self._thread = owner, threading.get_ident()
                return True
            waiter = _Waiter()
            (self._edges if edge else self._others).append(waiter)
        if waiter.granted.wait(timeout):
            with self._mutex:
                self.owner, self._thread = owner, threading.get_ident()
            return True
        with self._mutex:
            if waiter.granted.is_set():  # handed over just as the wait ran out
                self.owner, self._thread = owner, threading.get_ident()
                return True
            (self._edges if edge else self._others).remove(waiter)
            return False

    def release(self, owner: object) -> None:
        with self._mutex:
            if self.owner is not owner:
                return
            self.owner, self._thread = None, None
            queue = self._edges or self._others
            if queue:
                # Handed over directly; the waiter names itself owner when it wakes,
                # and no newcomer can slip in meanwhile.
                self.owner = _HANDING_OVER
                queue.popleft().granted.set()


_HANDING_OVER = object()


class EdgeFlag:
    """The ``<database>-edge`` file: a shared ``flock`` on it means an edge waits."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = -1

    def _descriptor(self) -> int:
        # A descriptor inherited through fork shares its lock with the parent; every
        # process opens its own.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def announced(self) -> Iterator[None]:
        fd = self._descriptor()
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def defer_to_edges(self, limit: float = EDGE_DEFERENCE_SECONDS) -> None:
        """Wait (at most ``limit``) while another process's edge waits to write."""
        fd = self._descriptor()
        deadline = time.monotonic() + limit
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(_DEFERENCE_POLL_SECONDS)
                continue
            fcntl.flock(fd, fcntl.LOCK_UN)
            return


@dataclass
class _Gates:
    pid: int
    by_path: dict[str, tuple[WriterGate, EdgeFlag | None]]


_gates = _Gates(os.getpid(), {})
_gates_mutex = threading.Lock()


def gate_for(database_path: str) -> tuple[WriterGate, EdgeFlag | None]:
    """This process's gate for a database file (and its edge flag; none in memory)."""
    with _gates_mutex:
        if _gates.pid != os.getpid():  # a forked child starts with no one at its gates
            _gates.pid, _gates.by_path = os.getpid(), {}
        found = _gates.by_path.get(database_path)
        if found is None:
            in_memory = database_path in ("", ":memory:") or database_path.startswith("file:")
            flag = None if in_memory else EdgeFlag(f"{os.path.abspath(database_path)}-edge")
            found = _gates.by_path[database_path] = (WriterGate(), flag)
        return found

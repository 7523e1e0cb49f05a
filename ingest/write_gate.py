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
- Across processes, the writer that has passed its own process's gate takes its turn
  with an exclusive ``flock`` on ``<database>-write`` before ``BEGIN IMMEDIATE`` and
  gives it back right after ``COMMIT``/``ROLLBACK``. A waiter looks again within a
  millisecond, instead of sleeping in SQLite's busy handler long after the lock was
  freed; a process that dies gives its turn back with its descriptors.
- An edge writer waiting for its turn announces itself by holding a shared ``flock``
  on ``<database>-edge``; a non-edge writer looks there before each ``BEGIN`` and
  lets it go first (for a bounded time, so a stuck edge cannot stop the workers).

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
# How often a writer waiting for another process's turn looks again: from the first
# value, doubling up to the second.
_TURN_POLL_SECONDS = (0.0001, 0.001)

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


class _LockFile:
    """A file beside the database whose ``flock`` this process takes and gives back."""

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

    def forget(self) -> None:
        """In a forked child: close the descriptor inherited from the parent. Its lock,
        if the parent holds one, stays the parent's (closing one of two copies does
        not release a ``flock``), and no longer outlives the parent in the child."""
        if self._fd is not None and self._pid != os.getpid():
            os.close(self._fd)
            self._fd = None


class WriteTurn(_LockFile):
    """The ``<database>-write`` file: an exclusive ``flock`` on it is the turn to write.

    Only the holder of this process's ``WriterGate`` takes it, so one flag says
    whether this process has it.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.held = False

    def take(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) for the turn; False if another process kept it."""
        self.held = _lock_exclusively(self._descriptor(), timeout, _TURN_POLL_SECONDS)
        return self.held

    def give_back(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)


class EdgeFlag(_LockFile):
    """The ``<database>-edge`` file: a shared ``flock`` on it means an edge waits."""

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
        pauses = (_DEFERENCE_POLL_SECONDS, _DEFERENCE_POLL_SECONDS)
        if _lock_exclusively(fd, limit, pauses):
            fcntl.flock(fd, fcntl.LOCK_UN)


def _lock_exclusively(fd: int, timeout: float, pauses: tuple[float, float]) -> bool:
    """Take an exclusive ``flock`` on ``fd``, looking again after a pause (from the
    first of ``pauses``, doubling up to the second) until ``timeout`` has passed."""
    pause, longest = pauses
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, longest)
            continue
        return True


@dataclass(frozen=True, slots=True)
class StoreGates:
    """What a writer to one database file passes: this process's gate, and for a file
    (not an in-memory database) the edge flag and the write turn shared by processes."""

    gate: WriterGate
    edge_flag: EdgeFlag | None
    turn: WriteTurn | None


@dataclass
class _Gates:
    pid: int
    by_path: dict[str, StoreGates]


_gates = _Gates(os.getpid(), {})
_gates_mutex = threading.Lock()


def gate_for(database_path: str) -> StoreGates:
    """This process's gates for a database file."""
    with _gates_mutex:
        if _gates.pid != os.getpid():  # a forked child starts with no one at its gates
            for inherited in _gates.by_path.values():
                for lock_file in (inherited.edge_flag, inherited.turn):
                    if lock_file is not None:
                        lock_file.forget()
            _gates.pid, _gates.by_path = os.getpid(), {}
        found = _gates.by_path.get(database_path)
        if found is None:
            in_memory = database_path in ("", ":memory:") or database_path.startswith("file:")
            if in_memory:
                found = StoreGates(WriterGate(), None, None)
            else:
                where = os.path.abspath(database_path)
                found = StoreGates(
                    WriterGate(), EdgeFlag(f"{where}-edge"), WriteTurn(f"{where}-write")
                )
            _gates.by_path[database_path] = found
        return found

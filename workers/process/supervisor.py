"""Edge roles of ``omniroute run`` in processes of their own, restarted if they die.

The SMTP edge (and the IMAP readers) must answer senders quickly whatever the
workers are doing; in one interpreter a burst of work holds the GIL and slows
every ``250``. ``run`` therefore starts them as ``omniroute smtp`` / ``omniroute
imap`` children on the same store, and keeps them running: a child that exits on
its own is started again after a short, growing pause. A child that stopped as a
signal asked (Ctrl+C in a terminal signals ``run`` and its children alike) is
given ``STOP_GRACE_SECONDS`` for ``run`` to stop too before it counts as gone.

The first start may be a fork of ``run`` itself, made before ``run`` starts any
thread or loads the worker's stack: the child then shares the interpreter and the
libraries both need (SQLAlchemy, pydantic, the settings and models) with ``run``
page for page, copy-on-write, instead of loading its own. A restart comes later,
when ``run`` has threads (forking then is unsafe), and is a fresh interpreter.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import partial
from typing import NoReturn, Protocol

from config.errors import ConfigError

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 30.0
# Exit statuses of a child that stopped because it was signalled to, not because it broke.
ASKED_TO_STOP = frozenset({0, -signal.SIGINT, -signal.SIGTERM})


class RoleProcess(Protocol):
    """What the supervisor needs of a child: ``subprocess.Popen`` or a ``ForkedProcess``."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


class ForkedProcess:
    """A child made with ``os.fork``, waited for like a ``subprocess.Popen``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        with self._lock:
            if self.returncode is None:
                try:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:
                    self.returncode = -1  # reaped elsewhere: gone all the same
                else:
                    if pid:
                        self.returncode = os.waitstatus_to_exitcode(status)
            return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"process {self.pid}", timeout or 0.0)
            time.sleep(0.05)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def fork_role(role: str, serve: Callable[[], None]) -> ForkedProcess | None:
    """Fork a child that runs ``serve`` and exits; None when this process has threads.

    Objects alive now are frozen out of the garbage collector first, so neither
    process's collections write to the pages they share.
    """
    if threading.active_count() > 1:
        return None
    gc.freeze()
    pid = os.fork()
    if pid:
        log.info("%s started as process %s (forked)", role, pid)
        return ForkedProcess(pid)
    _run_and_exit(f"{role} stopped on an error", serve)


class StartFailed(Exception):
    """A start-up step run in a child of its own failed; the child logged why."""


def run_apart(what: str, work: Callable[[], None]) -> None:
    """Run ``work`` in a forked child and wait for it, so what it imports and allocates
    leaves with the child (the migrations' Alembic, for ``run``). Raises
    ``StartFailed`` when it fails. Runs here when this process has threads already."""
    if threading.active_count() > 1:
        work()
        return
    pid = os.fork()
    if pid == 0:
        _run_and_exit(f"{what} failed", work)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise StartFailed(f"{what} failed (exit status {code}); its error is logged above")


def _run_and_exit(failure: str, work: Callable[[], None]) -> NoReturn:
    """The body of a forked child: ``work``, then exit with its outcome."""
    code = 1
    try:
        work()
        code = 0
    except SystemExit as exc:  # the work said why itself, and with which status
        code = exc.code if isinstance(exc.code, int) else 1
    except ConfigError as exc:  # the deployment's to fix: one line says what
        log.error("%s: %s", failure, exc)
    except BaseException:
        log.exception(failure)
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        os._exit(code)


class Child:
    """One role process, watched by a thread that restarts it when it exits early.

    With ``serve``, the first start forks this process to run ``serve`` (see the
    module's docstring); every other start runs ``omniroute <role>`` afresh.
    """

    def __init__(
        self, role: str, env: Mapping[str, str], serve: Callable[[], None] | None = None
    ) -> None:
        self.role = role
        self.env = dict(env)
        self.serve = serve
        self._stopping = threading.Event()
        self._process: RoleProcess | None = None
        self._watcher = threading.Thread(target=self._watch, name=f"child-{role}", daemon=True)

    @property
    def process(self) -> RoleProcess | None:
        """The role's current process (a new one after each restart)."""
        return self._process

    def start(self) -> None:
        self.launch()
        self.watch()

    def launch(self) -> None:
        """Start the role's first process."""
        forked = fork_role(self.role, self.serve) if self.serve is not None else None
        self._process = forked or self._spawn()

    def watch(self) -> None:
        """Restart the role's process whenever it exits, until ``stop``."""
        self._watcher.start()

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killed", self.role, STOP_GRACE_SECONDS)
            process.kill()
            process.wait()
        self._watcher.join(timeout=STOP_GRACE_SECONDS)

    def _spawn(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "workers.cli", self.role], env=self.env
        )
        log.info("%s started as process %s", self.role, process.pid)
        return process

    def _watch(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if code in ASKED_TO_STOP and self._stopping.wait(STOP_GRACE_SECONDS):
                # Ctrl+C in a terminal reaches the whole process group: the child
                # stopped as asked and ``run`` is stopping too, not a crash.
                return
            if self._stopping.is_set():
                return
            log.error(
                "%s exited with status %s; starting it again in %.1f s", self.role, code, backoff
            )
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            self._process = self._spawn()


@contextmanager
def child_roles(
    roles: list[str],
    env_overrides: Mapping[str, str],
    serve: Callable[[str], None] | None = None,
) -> Iterator[list[Child]]:
    """Run each of ``roles`` as a child process for the duration of the block; with
    ``serve`` (what a child runs), the first of each is forked from this process."""
    env = {**os.environ, **env_overrides}
    children = [Child(role, env, None if serve is None else partial(serve, role)) for role in roles]
    try:
        # Every first process before any watcher thread, so each can be a fork.
        for child in children:
            child.launch()
        for child in children:
            child.watch()
        yield children
    finally:
        for child in children:
            child.stop()

"""Edge roles of ``omniroute run`` in processes of their own, restarted if they die.

The SMTP edge (and the IMAP readers) must answer senders quickly whatever the
workers are doing; in one interpreter a burst of work holds the GIL and slows
every ``250``. ``run`` therefore starts them as ``omniroute smtp`` / ``omniroute
imap`` children on the same store, and keeps them running: a child that exits on
its own is started again after a short, growing pause.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 30.0


class Child:
    """One role process, watched by a thread that restarts it when it exits early."""

    def __init__(self, role: str, env: Mapping[str, str]) -> None:
        self.role = role
        self.env = dict(env)
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._watcher = threading.Thread(target=self._watch, name=f"child-{role}", daemon=True)

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The role's current process (a new one after each restart)."""
        return self._process

    def start(self) -> None:
        self._process = self._spawn()
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
def child_roles(roles: list[str], env_overrides: Mapping[str, str]) -> Iterator[list[Child]]:
    """Run each of ``roles`` as a child process for the duration of the block."""
    env = {**os.environ, **env_overrides}
    children = [Child(role, env) for role in roles]
    try:
        for child in children:
            child.start()
        yield children
    finally:
        for child in children:
            child.stop()

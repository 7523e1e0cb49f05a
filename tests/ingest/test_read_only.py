"""Readers never wait behind a writer: views read while a worker holds the write lock."""

from __future__ import annotations

import threading

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ingest.db import read_only, unit_of_work
from ingest.views import list_tickets


def test_a_read_goes_through_while_a_write_transaction_is_open(
    sessions: sessionmaker[Session],
) -> None:
    # Given a worker's write transaction that is open and holds its locks
    writing = threading.Event()
    finish = threading.Event()

    def writer() -> None:
        with unit_of_work(sessions) as session:
            session.execute(
                text(
                    "INSERT INTO team_cursors (team, position, updated_at) "
                    "VALUES ('t', 0, CURRENT_TIMESTAMP)"
                )
            )
            writing.set()
            finish.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(30)
        # When a view reads meanwhile
        with read_only(sessions) as session:
            rows = list_tickets(session)
        # Then it answers at once, without the uncommitted row's ticket effects
        assert rows == []
    finally:
        finish.set()
        thread.join()

"""An edge writer thread keeps one SQLite connection for its Core units; nothing else changes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from ingest.accept import accept_batch
from ingest.db import connection_unit, create_store_engine, kept_connection, session_factory
from ingest.errors import StoreUnavailable
from ingest.migrate import upgrade
from ingest.models import InboundRecord
from ingest.raw_inputs import RawInput
from ingest.write_gate import gate_for


def _driver_connection(conn: Connection) -> object:
    return conn.connection.driver_connection


def _units(sessions: sessionmaker[Session], count: int) -> list[object]:
    used = []
    for _ in range(count):
        with connection_unit(sessions) as conn:
            conn.execute(text("SELECT 1"))
            used.append(_driver_connection(conn))
    return used


def _checked_out(engine: Engine) -> int:
    return cast(QueuePool, engine.pool).checkedout()


def _item(n: int) -> RawInput:
    raw = f"Subject: {n}\r\n\r\nbody {n}\r\n".encode()
    return RawInput("email", f"email:<{n}@customer.test>", raw, {"mail_from": "", "rcpt_tos": []})


def _inbound(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(InboundRecord)).scalar_one())


def test_units_inside_share_one_connection_and_write_as_before(
    sessions: sessionmaker[Session],
) -> None:
    with kept_connection(sessions):
        used = _units(sessions, 3)
        accept_batch(sessions, [_item(1), _item(2)])
        accept_batch(sessions, [_item(3)])
    assert _inbound(sessions) == 3
    if sessions.kw["bind"].dialect.name == "sqlite":
        assert len(set(used)) == 1
    # Outside, units take pooled connections again
    with connection_unit(sessions) as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_the_kept_connection_is_given_back_to_the_pool_at_the_end(
    sessions: sessionmaker[Session],
) -> None:
    engine = sessions.kw["bind"]
    with kept_connection(sessions):
        _units(sessions, 1)
        with kept_connection(sessions):  # nested: the same connection, kept once
            _units(sessions, 1)
        _units(sessions, 1)
    assert _checked_out(engine) == 0


def test_a_failed_unit_gives_the_connection_back_and_the_next_unit_works(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = create_store_engine(url, statement_timeout_ms=50)
    sessions = session_factory(engine)
    try:
        with kept_connection(sessions):
            _units(sessions, 1)
            # Given another process holding SQLite's write lock past the timeout
            locker = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
            locker.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreUnavailable, match="locked"):
                accept_batch(sessions, [_item(1)])
            locker.execute("ROLLBACK")
            locker.close()
            # Then the gate was handed on and the connection given back (the pool resets it)
            assert gate_for(str(tmp_path / "store.db"))[0].owner is None
            assert _checked_out(engine) == 0
            # And the next unit stores
            accept_batch(sessions, [_item(2)])
        assert _inbound(sessions) == 1
        assert _checked_out(engine) == 0
    finally:
        engine.dispose()

"""Which store errors are outages (the edge answers "try again later") and which are bugs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import psycopg.errors
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from ingest.db import create_store_engine, is_store_outage, session_factory, unit_of_work
from ingest.errors import StoreUnavailable


def wrapped(orig: Exception) -> DBAPIError:
    """The error as SQLAlchemy raises it around the driver's."""
    return DBAPIError.instance("SELECT 1", {}, orig, psycopg.Error)


def test_missing_table_on_sqlite_is_a_bug_not_an_outage(tmp_path: Path) -> None:
    # Given a SQLite store without the table a statement names
    engine = create_store_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    # When the statement runs in a unit of work
    # Then the error surfaces as itself (a bug to record), not as StoreUnavailable
    with (
        pytest.raises(OperationalError, match="no such table"),
        unit_of_work(session_factory(engine)) as session,
    ):
        session.execute(text("SELECT * FROM inbound"))
    engine.dispose()


def test_locked_sqlite_store_is_an_outage(tmp_path: Path) -> None:
    # Given a SQLite store whose write lock another connection holds
    path = tmp_path / "locked.db"
    engine = create_store_engine(f"sqlite:///{path}", statement_timeout_ms=100)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        # When a unit of work needs the lock
        # Then it is reported as the store being unavailable
        with (
            pytest.raises(StoreUnavailable, match="database is locked"),
            unit_of_work(session_factory(engine)) as session,
        ):
            session.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        engine.dispose()


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.ConnectionFailure("connection failure"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.OperationalError("connection refused"),  # no SQLSTATE: could not connect
    ],
)
def test_postgresql_connection_shutdown_and_lock_errors_are_outages(error: Exception) -> None:
    assert is_store_outage(wrapped(error))


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.UndefinedTable('relation "inbound" does not exist'),
        psycopg.errors.UniqueViolation("duplicate key value"),
        psycopg.errors.DatatypeMismatch("column is of type bigint"),
        psycopg.errors.NumericValueOutOfRange("bigint out of range"),
    ],
)
def test_postgresql_errors_in_our_statements_are_not_outages(error: Exception) -> None:
    assert not is_store_outage(wrapped(error))


def test_missing_table_on_the_test_store_is_not_an_outage(engine: Engine) -> None:
    # Given the suite's store (SQLite, or PostgreSQL when configured)
    # When a statement names a table that does not exist
    # Then it is not reported as an outage
    with (
        pytest.raises((OperationalError, ProgrammingError)) as raised,
        unit_of_work(session_factory(engine)) as session,
    ):
        session.execute(text("SELECT * FROM no_such_table"))
    assert not is_store_outage(raised.value)

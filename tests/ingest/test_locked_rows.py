"""``locked``: a row read again and locked, on both stores."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import Customer
from ingest.rows import locked
from tests.ingest.test_rows import a_customer, statements


def test_a_row_loaded_in_the_transaction_is_read_again_only_where_rows_are_locked(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    customer_id = a_customer(sessions)
    with sessions.begin() as session:
        # Given a customer this transaction has read
        loaded = session.get(Customer, customer_id)
        # When it is asked for, locked
        with statements(engine) as sent:
            again = locked(session, Customer, customer_id)
        # Then it is the same object; PostgreSQL reads it again with a row lock, while
        # SQLite, whose write transaction holds the whole store, sends nothing
        assert again is loaded
        if engine.dialect.name == "sqlite":
            assert sent == []
        else:
            assert sent == ["SELECT"]


def test_a_row_not_loaded_yet_is_read(engine: Engine, sessions: sessionmaker[Session]) -> None:
    customer_id = a_customer(sessions)
    with sessions.begin() as session, statements(engine) as sent:
        # When a customer this transaction has not read is asked for, locked
        found = locked(session, Customer, customer_id)
        # Then it is read from the store; a row that is not there is None
        assert found is not None and found.name == "Ada"
        assert locked(session, Customer, customer_id + 1000) is None
        assert sent == ["SELECT", "SELECT"]

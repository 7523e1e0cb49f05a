"""While a worker holds a ticket's row, the next message of that ticket is stored at once.

On PostgreSQL every lock on a row other rows point at is FOR NO KEY UPDATE
(``ingest.db.TAKE_TURNS``): lockers of one ticket take turns, but a transaction
inserting a message that references the ticket (a foreign key check, which takes a
key-share lock) does not wait for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.rules import default_rules
from ingest.db import TAKE_TURNS, create_store_engine, session_factory, unit_of_work
from ingest.errors import StoreUnavailable
from ingest.models import Ticket
from tests.workers.store_tickets import add_reply, new_ticket
from workers.triage.decide import triage_ticket

MONDAY = datetime(2026, 12, 7, 10, tzinfo=UTC)


@pytest.fixture
def bounded(engine: Engine, database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions whose statements fail after 3 s instead of waiting on a lock forever."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time; row locks are PostgreSQL's")
    quick = create_store_engine(database_url, statement_timeout_ms=3_000)
    yield session_factory(quick)
    quick.dispose()


def test_a_reply_is_stored_while_triage_holds_its_ticket(
    sessions: sessionmaker[Session], bounded: sessionmaker[Session]
) -> None:
    # Given a worker triaging a ticket, its transaction open
    ticket_id = new_ticket(sessions, MONDAY)
    with unit_of_work(sessions) as triaging:
        assert triage_ticket(triaging, ticket_id, default_rules(), MONDAY) is not None
        # When another worker stores the customer's next message on that ticket
        with unit_of_work(bounded) as ingesting:
            reply = add_reply(ingesting, ticket_id)
        # Then it did not wait for the triage to finish
        assert reply.id is not None


def test_two_lockers_of_one_ticket_still_take_turns(
    sessions: sessionmaker[Session], bounded: sessionmaker[Session]
) -> None:
    # Given a worker holding a ticket's row
    ticket_id = new_ticket(sessions, MONDAY)
    with unit_of_work(sessions) as holder:
        assert holder.get(Ticket, ticket_id, with_for_update=TAKE_TURNS) is not None
        # When a second worker asks for the same row
        # Then it waits (here until its statement timeout)
        with (
            pytest.raises(StoreUnavailable, match="statement timeout"),
            unit_of_work(bounded) as second,
        ):
            second.get(Ticket, ticket_id, with_for_update=TAKE_TURNS)

"""Two customer messages on one ticket in two worker processes do not deadlock on PostgreSQL.

Each transaction that inserts a message holds a key-share lock on its ticket (the
foreign key). Planning the follow-ups takes the ticket's row to take turns with other
planners; with FOR UPDATE it waited for the other transaction's key-share lock while
that one waited for it: a deadlock.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ingest.db import create_store_engine, session_factory, unit_of_work
from tests.workers.store_tickets import add_reply, new_ticket
from workers.delivery.followups import plan_followups


def test_planning_follow_ups_does_not_wait_for_another_reply_being_inserted(
    engine: Engine, sessions: sessionmaker[Session], database_url: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time; row locks are PostgreSQL's")
    ticket_id = new_ticket(sessions, datetime(2026, 12, 2, 9, tzinfo=UTC))
    # A planner that waited on a lock would fail after this, instead of hanging
    bounded = create_store_engine(database_url, statement_timeout_ms=5_000)
    try:
        # Given another worker's transaction has inserted a reply to the ticket, uncommitted
        with unit_of_work(sessions) as other:
            add_reply(other, ticket_id, "A second reply, still being processed.")
            # When this worker stores its own reply and plans its follow-ups
            with unit_of_work(session_factory(bounded)) as mine:
                message = add_reply(mine, ticket_id, "A first reply.")
                planned = plan_followups(mine, ticket_id, message.id)
            # Then it did not wait for the other transaction
            assert planned == []
    finally:
        bounded.dispose()

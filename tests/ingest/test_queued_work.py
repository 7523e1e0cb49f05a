"""The work an ingest leaves to the workers: written at once, or gathered for a batch."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest import outbox
from ingest.db import unit_of_work
from ingest.models import Message, OutboxEntry, Ticket
from ingest.queued_work import QueuedWork


def queued(sessions: sessionmaker[Session]) -> list[tuple[str, dict[str, int]]]:
    with sessions() as session:
        rows = session.execute(
            select(OutboxEntry.actor, OutboxEntry.payload).order_by(OutboxEntry.id)
        ).all()
    return [(actor, payload) for actor, payload in rows]


def test_without_a_batch_each_ingest_writes_its_work_at_once(
    sessions: sessionmaker[Session],
) -> None:
    with unit_of_work(sessions) as session:
        QueuedWork().ticket_opened(session, Ticket(id=4), Message(id=9))
        QueuedWork().message_added(session, Ticket(id=5), Message(id=11))
    assert queued(sessions) == [
        (outbox.TRIAGE, {"ticket_id": 4}),
        (outbox.ACKNOWLEDGE, {"ticket_id": 4}),
        (outbox.FOLLOW_UP, {"ticket_id": 5, "message_id": 11}),
    ]


def test_a_batch_writes_what_its_ingests_gathered_less_what_was_rolled_back(
    sessions: sessionmaker[Session],
) -> None:
    follows = QueuedWork(gathered=[])
    with unit_of_work(sessions) as session:
        # Given a first ingest that opened ticket 4
        follows.ticket_opened(session, Ticket(id=4), Message(id=9))
        # And a second whose follow-up was gathered before it was rolled back
        mark = follows.mark()
        follows.message_added(session, Ticket(id=5), Message(id=11))
        follows.drop_since(mark)
        # Nothing is written until the batch ends
        assert queued(sessions) == []
        follows.write(session)
        follows.write(session)  # written once
    assert queued(sessions) == [
        (outbox.TRIAGE, {"ticket_id": 4}),
        (outbox.ACKNOWLEDGE, {"ticket_id": 4}),
    ]

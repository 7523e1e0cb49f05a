"""Outbox rows written several at once read as the rows ``add_work`` writes one by one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest import outbox
from ingest.db import unit_of_work
from ingest.models import OutboxEntry


def test_work_queued_together_is_due_now_and_not_handed_over(
    sessions: sessionmaker[Session],
) -> None:
    # When triage and the acknowledgement of ticket 7 are queued in one statement
    with unit_of_work(sessions) as session:
        outbox.add_works(session, (outbox.TRIAGE, outbox.ACKNOWLEDGE), ticket_id=7)
        # And one more the usual way, for comparison
        outbox.add_work(session, outbox.FOLLOW_UP, ticket_id=7)
    # Then each is a row of its own, with the payload, due now and waiting for the relay
    with sessions() as session:
        rows = session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars().all()
        seen = [
            (
                r.actor,
                r.payload,
                r.enqueued_at,
                r.done_at,
                r.redeliveries,
                r.not_before == r.created_at,
            )
            for r in rows
        ]
    assert seen == [
        (outbox.TRIAGE, {"ticket_id": 7}, None, None, 0, True),
        (outbox.ACKNOWLEDGE, {"ticket_id": 7}, None, None, 0, True),
        (outbox.FOLLOW_UP, {"ticket_id": 7}, None, None, 0, True),
    ]

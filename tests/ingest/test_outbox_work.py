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
        payload = {"ticket_id": 7}
        outbox.add_each(session, [(outbox.TRIAGE, payload), (outbox.ACKNOWLEDGE, payload)])
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


def test_work_marked_done_or_taken_in_the_session_that_queued_it_is_done(
    sessions: sessionmaker[Session],
) -> None:
    # Given work queued in a session, the last of it not written yet
    with unit_of_work(sessions) as session:
        claimed = outbox.add_work(session, outbox.ACKNOWLEDGE, claimed=True, ticket_id=8)
        taken = outbox.add_work(session, outbox.TRIAGE, ticket_id=8)
        session.flush()
        left = outbox.add_work(session, outbox.FOLLOW_UP, ticket_id=8)
        # When one is marked done and one taken by id, in that same session
        outbox.mark_done(session, claimed.id)
        outbox.mark_taken(session, taken.id)
        # And a second mark changes nothing
        outbox.mark_done(session, claimed.id)
        # Then the work not written yet was written first (the statements flush)
        assert left.id is not None
    # And the store says what was done and taken, and the third is still the relay's
    with sessions() as session:
        rows = {
            r.actor: (r.enqueued_at is not None, r.done_at is not None)
            for r in session.execute(select(OutboxEntry)).scalars()
        }
    assert rows == {
        outbox.ACKNOWLEDGE: (True, True),
        outbox.TRIAGE: (True, True),
        outbox.FOLLOW_UP: (False, False),
    }

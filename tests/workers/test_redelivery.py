"""Due work the broker lost, or a worker dropped half-way, is handed over again and done once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest import outbox
from ingest.due_work import due_work
from ingest.models import AutomatedSend, InboundRecord, Message, OutboxEntry, Ticket, utcnow
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send
from workers.process.broker import QUEUE, create_broker, held_messages
from workers.process.redeliver import redeliver_overdue
from workers.process.relay import relay_once

NOW = timedelta(0)


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    pipe = Pipeline(settings, sessions)
    yield pipe
    pipe.close()


def tickets(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(Ticket)).scalar_one())


def statuses(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.execute(select(InboundRecord.status)).scalars())


def undone(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(
            session.execute(select(func.count()).where(OutboxEntry.done_at.is_(None))).scalar_one()
        )


def test_work_the_broker_lost_is_handed_over_again_and_done_once(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given three mails whose ingest messages reached the broker, no worker taking them
    pipeline.worker.pause()
    for n in range(3):
        send(sessions, bytes(customer_mail(subject=f"Lost {n}", sender=f"c{n}@example.org")))
    assert relay_once(sessions, pipeline.broker) == 3
    # When the broker forgets them (a restart without persistence)
    pipeline.broker.flush_all()
    pipeline.worker.resume()
    assert statuses(sessions) == ["pending"] * 3
    # Then the sweep finds them overdue and makes them due again
    assert redeliver_overdue(sessions, NOW) == 3
    pipeline.drain()
    # And every mail became exactly one ticket, with all work done
    assert statuses(sessions) == ["processed"] * 3
    assert tickets(sessions) == 3
    assert undone(sessions) == 0
    with sessions() as session:
        redelivered = session.execute(
            select(OutboxEntry.redeliveries).where(OutboxEntry.actor == outbox.INGEST)
        ).scalars()
        assert list(redelivered) == [1, 1, 1]


def test_work_handed_over_recently_is_left_to_the_broker(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a mail whose ingest message the broker holds, no worker taking it yet
    pipeline.worker.pause()
    send(sessions, bytes(customer_mail(subject="In the queue")))
    assert relay_once(sessions, pipeline.broker) == 1
    # When the sweep runs before the redelivery timeout
    # Then it hands nothing over again
    assert redeliver_overdue(sessions, timedelta(minutes=5)) == 0
    with sessions() as session:
        entry = session.execute(select(OutboxEntry)).scalar_one()
    assert entry.enqueued_at is not None
    assert entry.redeliveries == 0
    # And the one message, once taken, makes one ticket
    pipeline.worker.resume()
    pipeline.drain()
    assert tickets(sessions) == 1


def test_done_work_is_never_handed_over_again(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a mail fully handled: ticket, triage, acknowledgement
    send(sessions, bytes(customer_mail(subject="All done")))
    pipeline.drain()
    assert undone(sessions) == 0
    # When the sweep runs with no timeout at all
    # Then nothing is due again and nothing is sent twice
    assert redeliver_overdue(sessions, NOW) == 0
    assert len(pipeline.transport.sent) == 1


def test_acknowledgement_dropped_half_way_is_sent_by_redelivery(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a ticket whose acknowledgement a worker started and died in ("sending",
    # its work handed over and never done)
    send(sessions, bytes(customer_mail(subject="Half way")))
    pipeline.drain()
    [(first, _)] = pipeline.transport.sent
    with sessions.begin() as session:
        session.execute(update(AutomatedSend).values(status="sending", sent_at=None))
        session.execute(
            update(Message)
            .where(Message.kind == "acknowledgement")
            .values(delivery_state="sending")
        )
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.actor == outbox.ACKNOWLEDGE)
            .values(done_at=None, enqueued_at=utcnow() - timedelta(minutes=10))
        )
    # When the scheduler's sweep runs
    assert redeliver_overdue(sessions, timedelta(minutes=5)) == 1
    pipeline.drain()
    # Then the acknowledgement is sent again, with the Message-ID of the first try
    with sessions() as session:
        send_row = session.execute(select(AutomatedSend)).scalar_one()
    assert send_row.status == "sent"
    [_, (again, _)] = pipeline.transport.sent
    assert again["Message-ID"] == first["Message-ID"]


def test_due_work_reports_how_long_the_oldest_has_waited(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a mail accepted ten minutes ago and never ingested (the broker lost it)
    inbound_id = send(sessions, bytes(customer_mail(subject="Waiting")))
    earlier = utcnow() - timedelta(minutes=10)
    with sessions.begin() as session:
        session.execute(
            update(InboundRecord).where(InboundRecord.id == inbound_id).values(received_at=earlier)
        )
        session.execute(update(OutboxEntry).values(not_before=earlier, enqueued_at=earlier))
    # When the due work is read
    with sessions() as session:
        due = {d.kind: d for d in due_work(session)}
    # Then the pending record and its ingest work show their age; other kinds are empty
    assert due["inbound"].count == 1
    assert due["inbound"].oldest_age_seconds >= 600
    assert due["outbox:ingest"].count == 1
    assert due["outbox:ingest"].oldest_age_seconds >= 600
    assert due["delivery"].count == 0
    assert due["acknowledgement"].oldest_age_seconds == 0
    # And once the sweep hands it over and it is done, nothing is due
    redeliver_overdue(sessions, timedelta(minutes=5))
    pipeline.drain()
    with sessions() as session:
        assert all(d.count == 0 for d in due_work(session))


def test_work_still_queued_in_redis_waits_however_long_the_queue(
    settings: Settings, sessions: sessionmaker[Session], broker_url: str
) -> None:
    # Given mails whose ingest messages wait in Redis, no worker taking them
    broker = create_broker(broker_url, settings)
    held = held_messages(broker, QUEUE)
    if held is None:
        pytest.skip("the broker cannot say which messages it holds")
    try:
        broker.declare_queue(QUEUE)
        for n in range(2):
            send(sessions, bytes(customer_mail(subject=f"Queued {n}", sender=f"q{n}@example.org")))
        assert relay_once(sessions, broker) == 2
        # When the sweep runs past the timeout
        # Then nothing is handed over twice: Redis still holds both messages
        assert redeliver_overdue(sessions, NOW, held) == 0
        with sessions() as session:
            assert set(session.execute(select(OutboxEntry.redeliveries)).scalars()) == {0}
        # When Redis forgets them (a restart without persistence)
        broker.flush_all()
        # Then both are due again
        assert redeliver_overdue(sessions, NOW, held) == 2
        assert relay_once(sessions, broker) == 2
    finally:
        broker.flush_all()
        broker.close()

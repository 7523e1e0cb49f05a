"""The relay hands work to the broker with no transaction open, and loses none on the way."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ingest import outbox
from ingest.db import unit_of_work
from ingest.models import OutboxEntry, utcnow
from workers.process.broker import QUEUE
from workers.process.redeliver import redeliver_overdue
from workers.process.relay import claim_due, relay_once

WAIT = 10.0


class _Broker(StubBroker):
    """A stub broker that runs ``during`` inside each enqueue, and refuses every message
    once it has taken ``refuse_from``."""

    def __init__(self) -> None:
        super().__init__()
        self.declare_queue(QUEUE)
        self.during: Any = None
        self.refuse_from: int | None = None
        self.taken: list[dramatiq.Message[Any]] = []

    def enqueue(self, message: dramatiq.Message[Any], *, delay: int | None = None) -> Any:
        if self.refuse_from is not None and len(self.taken) >= self.refuse_from:
            raise ConnectionError("broker down")
        if self.during is not None:
            self.during(message)
        self.taken.append(message)
        return super().enqueue(message, delay=delay)


def _queue(sessions: sessionmaker[Session], count: int) -> list[int]:
    with unit_of_work(sessions) as session:
        ids = [outbox.add_work(session, outbox.TRIAGE, ticket_id=n).id for n in range(count)]
    return ids


def _rows(sessions: sessionmaker[Session]) -> list[tuple[int, bool, str | None]]:
    with sessions() as session:
        found = session.execute(
            select(OutboxEntry.id, OutboxEntry.enqueued_at, OutboxEntry.broker_message_id).order_by(
                OutboxEntry.id
            )
        ).all()
    return [(entry_id, at is not None, message) for entry_id, at, message in found]


def test_other_writers_go_on_while_the_broker_takes_the_messages(
    sessions: sessionmaker[Session],
) -> None:
    # Given two rows due, and a broker that is slow to take each message
    ids = _queue(sessions, 2)
    broker = _Broker()
    written: list[int] = []

    def another_writer(message: dramatiq.Message[Any]) -> None:
        # When another thread writes to the store while a message is being handed over
        def write() -> None:
            with unit_of_work(sessions) as session:
                # (as a worker that took the message at once marks it done)
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id == message.options[outbox.OUTBOX_ID])
                    .values(done_at=utcnow())
                )
            written.append(message.options[outbox.OUTBOX_ID])

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(WAIT)
        # Then its write commits at once: the relay holds no lock while it waits
        assert not thread.is_alive()

    broker.during = another_writer
    assert relay_once(sessions, broker) == 2
    assert written == ids
    # And each row records the message the broker took for it
    taken = {m.options[outbox.OUTBOX_ID]: m.message_id for m in broker.taken}
    assert _rows(sessions) == [(entry_id, True, taken[entry_id]) for entry_id in ids]


def test_rows_the_broker_refused_are_due_again_at_once(sessions: sessionmaker[Session]) -> None:
    # Given three rows due, and a broker that goes down after taking the first
    ids = _queue(sessions, 3)
    broker = _Broker()
    broker.refuse_from = 1
    # When the relay passes
    assert relay_once(sessions, broker) == 1
    # Then the first is handed over, the other two are due as if never claimed
    first = broker.taken[0].message_id
    assert _rows(sessions) == [(ids[0], True, first), (ids[1], False, None), (ids[2], False, None)]
    # And the next pass, with the broker back, hands them over in order
    broker.refuse_from = None
    assert relay_once(sessions, broker) == 2
    assert [m.options[outbox.OUTBOX_ID] for m in broker.taken] == ids


def _handed_over_ago(sessions: sessionmaker[Session], ids: list[int], ago: timedelta) -> None:
    with unit_of_work(sessions) as session:
        session.execute(
            update(OutboxEntry).where(OutboxEntry.id.in_(ids)).values(enqueued_at=utcnow() - ago)
        )


def test_rows_claimed_by_a_relay_that_died_are_due_again_after_the_claim_timeout(
    sessions: sessionmaker[Session],
) -> None:
    # Given rows a relay claimed and then died before the broker took them, and rows
    # handed over to the broker at the same time
    claimed_ids, handed_ids = _queue(sessions, 2), []
    assert [row[0] for row in claim_due(sessions, None)] == claimed_ids
    assert _rows(sessions) == [(entry_id, True, outbox.RELAY_CLAIMED) for entry_id in claimed_ids]
    broker = _Broker()
    handed_ids = _queue(sessions, 1)
    assert relay_once(sessions, broker) == 1  # no other pass takes the claimed rows
    # When the claims are older than the claim timeout, long before the redelivery one
    ago = outbox.RELAY_CLAIM_TIMEOUT + timedelta(seconds=1)
    _handed_over_ago(sessions, claimed_ids + handed_ids, ago)
    # Then the sweep makes the claimed rows due again, and only them
    assert redeliver_overdue(sessions, timedelta(minutes=5)) == 2
    assert [claimed for _, claimed, _ in _rows(sessions)] == [False, False, True]
    # And the relay hands them over
    assert relay_once(sessions, broker) == 2
    taken = [m.options[outbox.OUTBOX_ID] for m in broker.taken]
    assert taken == handed_ids + claimed_ids


def test_a_fresh_claim_is_left_to_its_relay(sessions: sessionmaker[Session]) -> None:
    ids = _queue(sessions, 1)
    claim_due(sessions, None)
    # A relay still handing its rows over is not raced by the sweep
    assert redeliver_overdue(sessions, timedelta(minutes=5)) == 0
    assert _rows(sessions) == [(ids[0], True, outbox.RELAY_CLAIMED)]


def test_only_the_named_rows_are_claimed(sessions: sessionmaker[Session]) -> None:
    ids = _queue(sessions, 3)
    broker = _Broker()
    assert relay_once(sessions, broker, only=[ids[1]]) == 1
    assert [m.options[outbox.OUTBOX_ID] for m in broker.taken] == [ids[1]]
    assert [claimed for _, claimed, _ in _rows(sessions)] == [False, True, False]

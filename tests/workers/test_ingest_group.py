"""Group processing: the ingest worker takes records still waiting for the relay into its
own transaction, each behind a savepoint, and leaves a record in trouble to run alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest import outbox
from ingest.db import unit_of_work
from ingest.models import InboundRecord, OutboxEntry, Ticket
from ingest.signals import Defer
from tests.edge import accept_mail
from tests.harness import Pipeline
from tests.mail import customer_mail
from workers.process import ingest_group
from workers.process.relay import QUEUE, relay_once


def _accept(sessions: sessionmaker[Session], count: int) -> list[int]:
    return [
        accept_mail(
            sessions,
            bytes(customer_mail(sender=f"c{n}@example.org", subject=f"Help {n}", body="Broken.")),
        ).inbound_id
        for n in range(count)
    ]


def _grouped(settings: Settings, size: int = 4) -> Settings:
    return settings.model_copy(update={"ingest_group_size": size})


def _ingest_rows(sessions: sessionmaker[Session]) -> list[OutboxEntry]:
    with sessions() as session:
        return list(
            session.execute(
                select(OutboxEntry)
                .where(OutboxEntry.actor == outbox.INGEST)
                .order_by(OutboxEntry.id)
            ).scalars()
        )


def _run_first_only(pipe: Pipeline) -> None:
    """Hand only the oldest ingest row to the broker, and let the workers run it."""
    first = _ingest_rows(pipe.sessions)[0]
    relay_once(pipe.sessions, pipe.broker, only=[first.id])
    pipe.broker.join(QUEUE, fail_fast=True)
    pipe.worker.join()


def _grouped_ingest_raises(
    monkeypatch: pytest.MonkeyPatch, inbound_id: int, error: Exception
) -> None:
    """Make the group's ingest of ``inbound_id`` raise ``error``; the others run as usual."""
    real = ingest_group.process_inbound

    def strikes(session: Session, processed_id: int, *args: Any) -> Any:
        if processed_id == inbound_id:
            raise error
        return real(session, processed_id, *args)

    monkeypatch.setattr(ingest_group, "process_inbound", strikes)


def _tickets(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count(Ticket.id))).scalar_one())


def test_waiting_records_are_processed_in_the_delivered_ones_transaction(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given three accepted mails, only the first handed to the broker
    _accept(sessions, 3)
    pipe = Pipeline(_grouped(settings), sessions)
    try:
        # When the worker runs the one it was given
        _run_first_only(pipe)
        # Then all three became tickets, each acknowledged once; the two it took from
        # the store are done without ever going through the broker
        assert _tickets(sessions) == 3
        assert len(pipe.transport.sent) == 3
        first, *taken = _ingest_rows(sessions)
        assert first.broker_message_id is not None
        assert all(row.done_at is not None for row in [first, *taken])
        assert [row.broker_message_id for row in taken] == [None, None]
        # And neither the relay nor the redelivery sweep hands them over again
        assert relay_once(sessions, pipe.broker) == 0
        with unit_of_work(sessions) as session:
            assert outbox.reset_overdue(session, timedelta(0)) == []
        assert len(_ingest_rows(sessions)) == 3
    finally:
        pipe.close()


def test_a_group_size_of_one_takes_one_record_per_transaction(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    _accept(sessions, 3)
    pipe = Pipeline(_grouped(settings, 1), sessions)
    try:
        _run_first_only(pipe)
        assert _tickets(sessions) == 1
        assert [row.done_at is not None for row in _ingest_rows(sessions)] == [
            True,
            False,
            False,
        ]
        pipe.drain()
        assert _tickets(sessions) == 3
    finally:
        pipe.close()


def test_a_bug_in_one_grouped_record_spoils_none_of_the_others(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three mails, and a bug that strikes the second when it is taken in a group
    ids = _accept(sessions, 3)
    _grouped_ingest_raises(monkeypatch, ids[1], RuntimeError("bug in a grouped record"))
    pipe = Pipeline(_grouped(settings), sessions)
    try:
        # When the worker runs the first
        _run_first_only(pipe)
        # Then the first and third are tickets; the second's row is left to the relay
        assert _tickets(sessions) == 2
        first, second, third = _ingest_rows(sessions)
        assert first.done_at is not None and third.done_at is not None
        assert second.done_at is None and second.enqueued_at is None
        with sessions() as session:
            record = session.get(InboundRecord, ids[1])
            assert record is not None and record.status == "pending"
        # And run on its own, it becomes a ticket too, acknowledged once like the others
        pipe.drain()
        assert _tickets(sessions) == 3
        assert len(pipe.transport.sent) == 3
    finally:
        pipe.close()


def test_a_grouped_record_that_must_wait_is_queued_again_with_its_delay(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _accept(sessions, 2)
    _grouped_ingest_raises(monkeypatch, ids[1], Defer(60, "what it answers is not processed yet"))
    pipe = Pipeline(_grouped(settings), sessions)
    try:
        _run_first_only(pipe)
        assert _tickets(sessions) == 1
        first, second, again = _ingest_rows(sessions)
        assert first.done_at is not None and second.done_at is not None
        assert again.payload == {"inbound_id": ids[1]}
        assert again.done_at is None
        assert again.not_before > second.created_at
    finally:
        pipe.close()

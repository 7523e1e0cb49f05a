"""Arrival order never splits a thread: a reply processed before its original waits for
it, and an original that comes after its answer joins the answer's ticket."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import make_msgid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.db import unit_of_work
from ingest.models import InboundRecord, Message, Ticket
from ingest.pipeline import process_inbound
from ingest.signals import Defer
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send


def pair(n: int) -> tuple[bytes, bytes]:
    """An original mail and the customer's own follow-up to it."""
    original_id = make_msgid(domain="customer.test")
    original = customer_mail(subject=f"Order {n} is late", message_id=original_id)
    reply = customer_mail(
        subject=f"Re: Order {n} is late",
        body=f"Any news on order {n}?\n",
        in_reply_to=original_id,
        references=original_id,
    )
    return bytes(original), bytes(reply)


def ticket_of(sessions: sessionmaker[Session], inbound_id: int) -> int:
    with sessions() as session:
        return session.execute(
            select(Message.ticket_id).where(Message.inbound_id == inbound_id)
        ).scalar_one()


def test_a_reply_whose_original_is_not_processed_yet_is_deferred(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given an original and its reply, both stored, neither processed
    original, reply = pair(1)
    original_id = send(sessions, original)
    reply_id = send(sessions, reply)
    # When the reply is processed first
    # Then it is deferred, and stays pending
    with (
        pytest.raises(Defer, match=f"waits for inbound {original_id}"),
        unit_of_work(sessions) as session,
    ):
        process_inbound(session, reply_id, settings)
    with sessions() as session:
        record = session.get(InboundRecord, reply_id)
        assert record is not None and record.status == "pending"
    # And once the original is processed, the reply joins its ticket
    with unit_of_work(sessions) as session:
        process_inbound(session, original_id, settings)
    with unit_of_work(sessions) as session:
        process_inbound(session, reply_id, settings)
    assert ticket_of(sessions, reply_id) == ticket_of(sessions, original_id)


def test_replies_accepted_before_their_originals_never_split_with_two_workers(
    pipeline_with: Callable[..., Pipeline], sessions: sessionmaker[Session]
) -> None:
    # Given twelve conversations whose replies reached the edge before their originals
    pipeline = pipeline_with()
    pairs = [pair(n) for n in range(12)]
    reply_ids = [send(sessions, reply) for _, reply in pairs]
    original_ids = [send(sessions, original) for original, _ in pairs]
    # When two worker threads process them all
    pipeline.drain(timeout=60)
    # Then every reply is on its original's ticket, and there is one ticket per conversation
    for original_id, reply_id in zip(original_ids, reply_ids, strict=True):
        assert ticket_of(sessions, reply_id) == ticket_of(sessions, original_id)
    with sessions() as session:
        assert len(session.execute(select(Ticket.id)).all()) == 12


def test_an_original_arriving_after_its_answer_joins_the_answers_ticket(
    pipeline_with: Callable[..., Pipeline], sessions: sessionmaker[Session]
) -> None:
    # Given a reply processed alone (no wait), which opened a ticket
    pipeline = pipeline_with(thread_wait_seconds=0)
    original, reply = pair(1)
    reply_id = send(sessions, reply)
    pipeline.drain()
    # When the original it answers arrives afterwards
    original_id = send(sessions, original)
    pipeline.drain()
    # Then the original joins the reply's ticket, saying why
    assert ticket_of(sessions, original_id) == ticket_of(sessions, reply_id)
    with sessions() as session:
        message = session.execute(
            select(Message).where(Message.inbound_id == original_id)
        ).scalar_one()
        tickets = session.execute(select(Ticket.id)).all()
    assert message.thread_signal == "answered-by"
    assert len(tickets) == 1

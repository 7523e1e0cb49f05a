"""A channel added with three files of its own gets the whole core: tickets, threading by
conversation key, an acknowledgement on its own channel, and agent replies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels import reply_senders
from config.settings import Settings
from ingest.agent_reply import ReplyRequest, record_reply
from ingest.db import unit_of_work
from ingest.models import Message, Ticket
from normalize import parsers
from tests.channels.pigeon.adapter import accept_note
from tests.channels.pigeon.parser import CHANNEL, parse_pigeon
from tests.channels.pigeon.sender import Loft, PigeonSender
from tests.harness import Pipeline


@pytest.fixture
def loft() -> Iterator[Loft]:
    carried = Loft()
    parsers.register(CHANNEL, parse_pigeon)
    reply_senders.register(CHANNEL, lambda resources: PigeonSender(carried))
    yield carried


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session], loft: Loft) -> Iterator[Pipeline]:
    ack_on = settings.model_copy(update={"acknowledge_channels": ("email", CHANNEL)})
    pipe = Pipeline(ack_on, sessions)
    yield pipe
    pipe.close()


def note(note_id: str, text: str, sender: str = "+15550100") -> dict[str, str]:
    return {"id": note_id, "from": sender, "to": "+15550999", "text": text, "name": "Pat"}


def test_added_channel_opens_a_ticket_and_acknowledges_on_its_own_channel(
    pipeline: Pipeline, sessions: sessionmaker[Session], loft: Loft
) -> None:
    # Given a pigeon note from a customer
    accept_note(sessions, note("n1", "My order never arrived"))
    # When the workers run
    pipeline.drain()
    # Then one ticket on the pigeon channel holds it
    with sessions() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.channel, ticket.subject) == (CHANNEL, "My order never arrived")
        ack = session.execute(select(Message).where(Message.kind == "acknowledgement")).scalar_one()
        # And the acknowledgement was stored with its text and sent
        assert (ack.channel, ack.delivery_state, ack.external_id) == (CHANNEL, "sent", "pigeon-1")
    (sent,) = loft.notes
    assert sent.recipient.value == "+15550100"
    assert f"Ticket #{ticket.id}" in sent.body
    assert ack.body_text == sent.body
    # And no mail was written
    assert pipeline.transport.sent == []


def test_added_channel_threads_by_conversation_key_and_ignores_redelivery(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a note, then the same note again, then a second note in the conversation
    accept_note(sessions, note("n1", "My order never arrived"))
    duplicate = accept_note(sessions, note("n1", "My order never arrived"))
    accept_note(sessions, note("n2", "It was order 1234"))
    # When the workers run
    pipeline.drain()
    # Then the redelivery was refused at the edge and both notes are on one ticket
    assert duplicate.duplicate
    with sessions() as session:
        tickets = session.execute(select(Ticket)).scalars().all()
        assert len(tickets) == 1
        signals = (
            session.execute(
                select(Message.thread_signal)
                .where(Message.direction == "inbound")
                .order_by(Message.id)
            )
            .scalars()
            .all()
        )
    assert signals == ["new-ticket", "conversation"]


def test_agent_reply_goes_out_on_the_added_channel(
    pipeline: Pipeline, sessions: sessionmaker[Session], loft: Loft
) -> None:
    # Given a pigeon ticket, acknowledged
    accept_note(sessions, note("n1", "My order never arrived"))
    pipeline.drain()
    # When an agent replies and the workers run
    with unit_of_work(sessions) as session:
        reply = record_reply(session, 1, ReplyRequest(body="It ships today.", author="Sam"))
        assert reply is not None
        reply_id = reply.id
    pipeline.drain()
    # Then the reply was carried to the customer's number, by the agent, and marked sent
    assert [(n.purpose, n.body, n.author) for n in loft.notes][-1] == (
        "reply",
        "It ships today.",
        "Sam",
    )
    assert loft.notes[-1].recipient.value == "+15550100"
    with sessions() as session:
        stored = session.get(Message, reply_id)
        assert stored is not None
        assert (stored.channel, stored.delivery_state) == (CHANNEL, "sent")

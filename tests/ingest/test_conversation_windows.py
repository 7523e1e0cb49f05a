"""A channel's conversation key threads inside the channel's window; past it, a new ticket
linked to the old one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from channels import reply_senders
from config.settings import Settings
from ingest.models import Message, Ticket, utcnow
from normalize import parsers
from tests.channels.pigeon.adapter import accept_note
from tests.channels.pigeon.parser import CHANNEL, parse_pigeon
from tests.channels.pigeon.sender import Loft, PigeonSender
from tests.harness import Pipeline


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    loft = Loft()
    parsers.register(CHANNEL, parse_pigeon)
    reply_senders.register(CHANNEL, lambda resources: PigeonSender(loft))
    windowed = settings.model_copy(update={"conversation_windows": {CHANNEL: 24.0}})
    pipe = Pipeline(windowed, sessions)
    yield pipe
    pipe.close()


def note(note_id: str, text: str = "Hello again") -> dict[str, str]:
    return {"id": note_id, "from": "+15550100", "to": "+15550999", "text": text}


def first_ticket_is(sessions: sessionmaker[Session], status: str, idle_hours: float) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Ticket)
            .where(Ticket.id == 1)
            .values(status=status, updated_at=utcnow() - timedelta(hours=idle_hours))
        )


def tickets(sessions: sessionmaker[Session]) -> list[tuple[int, int | None]]:
    with sessions() as session:
        return list(
            session.execute(select(Ticket.id, Ticket.linked_ticket_id).order_by(Ticket.id)).all()
        )


def test_an_open_ticket_keeps_its_conversation_however_long_it_waits(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a pigeon ticket that is open and idle for three days
    accept_note(sessions, note("n1", "Where is my parcel?"))
    pipeline.drain()
    first_ticket_is(sessions, "open", idle_hours=72)
    # When the customer writes again in the same conversation
    accept_note(sessions, note("n2"))
    pipeline.drain()
    # Then it joins the open ticket
    assert tickets(sessions) == [(1, None)]


def test_a_resolved_ticket_inside_the_window_is_reopened(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a solved ticket, updated two hours ago (window: 24 h)
    accept_note(sessions, note("n1", "Where is my parcel?"))
    pipeline.drain()
    first_ticket_is(sessions, "solved", idle_hours=2)
    # When the customer writes again
    accept_note(sessions, note("n2"))
    pipeline.drain()
    # Then it joins and reopens that ticket
    assert tickets(sessions) == [(1, None)]
    with sessions() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.status == "open"


def test_a_resolved_ticket_past_the_window_gets_a_new_linked_ticket(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a solved ticket, last updated two days ago (window: 24 h)
    accept_note(sessions, note("n1", "Where is my parcel?"))
    pipeline.drain()
    first_ticket_is(sessions, "solved", idle_hours=48)
    # When the customer writes again in the same conversation
    accept_note(sessions, note("n2", "New question about returns"))
    pipeline.drain()
    # Then a new ticket opens, linked to the old one, and the message says why
    assert tickets(sessions) == [(1, None), (2, 1)]
    with sessions() as session:
        message = session.execute(
            select(Message).where(Message.ticket_id == 2, Message.direction == "inbound")
        ).scalar_one()
        old_events = (
            session.execute(
                select(Message.body_text).where(Message.ticket_id == 1, Message.kind == "event")
            )
            .scalars()
            .all()
        )
    assert message.thread_signal == "new-ticket"
    assert "idle longer than the 24 h window" in message.thread_detail
    assert "continued on ticket #2" in old_events
    # And the next message threads onto the new ticket
    accept_note(sessions, note("n3", "And one more thing"))
    pipeline.drain()
    with sessions() as session:
        latest = session.execute(select(Message).order_by(Message.id.desc()).limit(1)).scalar()
    assert latest is not None
    assert latest.ticket_id == 2

"""Rows written with Core and kept in the session as loaded objects, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.accept import RawInput, record_inputs, written_record
from ingest.models import Attachment, Customer, InboundRecord, Message, Ticket
from ingest.rows import insert_loaded

RECORD_COLUMNS = [column.key for column in InboundRecord.__table__.columns]


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.split(maxsplit=1)[0].upper()
        if verb != "BEGIN":  # SQLite's own BEGIN IMMEDIATE, sent with the first statement
            sent.append(verb)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def a_customer(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        customer = Customer(name="Ada", email="ada@example.org")
        session.add(customer)
        session.flush()
        return customer.id


def test_an_inserted_row_is_loaded_with_its_defaults_and_reads_need_no_query(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    customer_id = a_customer(sessions)
    with sessions.begin() as session, statements(engine) as sent:
        # When a ticket is inserted with some of its columns
        ticket = insert_loaded(
            session, Ticket, {"channel": "web", "customer_id": customer_id, "subject": "Help"}
        )
        # Then one INSERT was sent, and every column reads without another statement
        assert sent == ["INSERT"]
        assert (ticket.status, ticket.tags, ticket.category, ticket.closed_at) == (
            "new",
            [],
            None,
            None,
        )
        assert ticket.created_at is not None and ticket.updated_at is not None
        assert sent == ["INSERT"]
        assert session.get(Ticket, ticket.id) is ticket
        assert sent == ["INSERT"]
        number = ticket.id
    # And the row in the store holds what the object says
    with sessions() as session:
        stored = session.get(Ticket, number)
        assert stored is not None
        assert (stored.status, stored.subject, stored.tags) == ("new", "Help", [])
        assert stored.created_at == ticket.created_at


def test_a_change_to_an_inserted_row_is_written_at_the_next_flush(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    customer_id = a_customer(sessions)
    with sessions.begin() as session:
        ticket = insert_loaded(session, Ticket, {"channel": "web", "customer_id": customer_id})
        with statements(engine) as sent:
            ticket.priority = "high"
            ticket.tags = ["vip"]
            session.flush()
        assert sent == ["UPDATE"]
        number = ticket.id
    with sessions() as session:
        stored = session.get(Ticket, number)
        assert stored is not None
        assert (stored.priority, stored.tags) == ("high", ["vip"])


def test_a_message_and_its_attachments_are_linked_without_a_flush(
    sessions: sessionmaker[Session],
) -> None:
    customer_id = a_customer(sessions)
    with sessions.begin() as session:
        ticket = insert_loaded(session, Ticket, {"channel": "email", "customer_id": customer_id})
        message = insert_loaded(
            session,
            Message,
            {"ticket_id": ticket.id, "direction": "inbound", "channel": "email", "sender": "a@b.c"},
        )
        attachment = insert_loaded(
            session,
            Attachment,
            {
                "message_id": message.id,
                "filename": "a.pdf",
                "content_type": "application/pdf",
                "size": 3,
                "sha256": "0" * 64,
            },
        )
        # The relationship to a row in the session resolves from the session
        assert message.ticket is ticket
        assert attachment.inline is False
        ids = (ticket.id, message.id)
    with sessions() as session:
        [(ticket_id, message_id)] = session.execute(
            select(Message.ticket_id, Message.id).where(Message.id == ids[1])
        ).all()
        assert (ticket_id, message_id) == ids
        assert session.scalars(select(Attachment.message_id)).all() == [ids[1]]


def test_the_record_an_edge_just_wrote_equals_the_one_read_back(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    item = RawInput("web", "web:abc", b'{"form": "contact"}', {"form": "contact", "tags": ["a"]})
    with sessions.begin() as session:
        accepted = record_inputs(session.connection(), [item])[0]
        with statements(engine) as sent:
            written = written_record(session, item, accepted)
        assert sent == []
        assert written is not None
        mine = {c: getattr(written, c) for c in RECORD_COLUMNS}
    with sessions() as session:
        stored = session.get(InboundRecord, accepted.inbound_id)
        assert stored is not None
        assert {c: getattr(stored, c) for c in RECORD_COLUMNS} == mine
    # And a duplicate is not made up: the caller reads it
    with sessions.begin() as session:
        again = record_inputs(session.connection(), [item])[0]
        assert again.duplicate
        assert written_record(session, item, again) is None

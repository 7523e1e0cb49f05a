"""Tickets written straight into the store, for tests of the stages that follow ingest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import Customer, Message, Ticket


def new_ticket(
    sessions: sessionmaker[Session],
    created_at: datetime,
    *,
    subject: str = "A question about my workspace",
    body: str = "Hello, I have a question about my workspace settings.",
    sender: str = "jane@customer.test",
) -> int:
    """A new email ticket with its first inbound message; returns its number."""
    with sessions.begin() as session:
        customer = Customer(name="Jane Doe", email=sender, created_at=created_at)
        session.add(customer)
        session.flush()
        ticket = Ticket(
            channel="email",
            customer_id=customer.id,
            subject=subject,
            created_at=created_at,
            updated_at=created_at,
        )
        session.add(ticket)
        session.flush()
        session.add(
            Message(
                ticket_id=ticket.id,
                direction="inbound",
                channel="email",
                sender=sender,
                recipient="support@example.com",
                subject=subject,
                body_text=body,
                body_full=body,
                created_at=created_at,
            )
        )
        return ticket.id


def add_reply(session: Session, ticket_id: int, body: str = "One more thing.") -> Message:
    """A customer's reply on the ticket, written in ``session``'s open transaction."""
    message = Message(
        ticket_id=ticket_id,
        direction="inbound",
        channel="email",
        sender="jane@customer.test",
        recipient="support@example.com",
        subject="Re: a question",
        body_text=body,
        body_full=body,
    )
    session.add(message)
    session.flush()
    return message


def timeline(sessions: sessionmaker[Session], ticket_id: int) -> list[str]:
    """The ticket's internal events, oldest first."""
    with sessions() as session:
        return list(
            session.execute(
                select(Message.body_text)
                .where(Message.ticket_id == ticket_id, Message.kind == "event")
                .order_by(Message.id)
            ).scalars()
        )

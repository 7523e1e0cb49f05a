"""Gather what the router may look at for one ticket, from the store, as plain values.

Shared by triage and by ``omniroute replay``, so a replayed decision sees exactly
the facts the live one saw.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ingest.envelope import text_list
from ingest.models import Message, Ticket
from ingest.queries import inbound_envelope
from normalize.language import detect_language
from router.types import TicketFacts

# "Repeated contact" counts the customer's inbound messages over this many days.
RECENT_CONTACT_DAYS = 7


# Built once, with bound parameters: building it costs more than running it.
_RECENT_CONTACTS = (
    select(func.count(Message.id))
    .join(Ticket, Ticket.id == Message.ticket_id)
    .where(
        Ticket.customer_id == bindparam("customer_id"),
        Message.direction == "inbound",
        Message.kind == "message",
        Message.created_at >= bindparam("since"),
        Message.created_at <= bindparam("until"),
    )
)


def ticket_facts(
    session: Session, ticket: Ticket, first: Message, *, opened: bool = False
) -> TicketFacts:
    """The facts of ``ticket`` as of its first inbound message ``first``.

    ``opened``: ``first`` opened the ticket in this transaction, so it is its only message.
    """
    count = 1 if opened else _inbound_count(session, ticket)
    return TicketFacts(
        number=ticket.id,
        channel=ticket.channel,
        subject=ticket.subject,
        body=first.body_text,
        sender_email=first.sender,
        recipient=first.recipient,
        has_attachments=bool(first.attachments),
        is_automated=bool(first.auto_reasons),
        message_count=int(count),
        received_at=first.created_at,
        mailbox=_mailbox(session, first),
        tags=_channel_tags(session, first),
        language=ticket.language or language_of(ticket.subject, first.body_text),
        recent_contacts=_recent_contacts(session, ticket, first),
    )


def _inbound_count(session: Session, ticket: Ticket) -> int:
    return int(
        session.execute(
            select(func.count(Message.id)).where(
                Message.ticket_id == ticket.id, Message.direction == "inbound"
            )
        ).scalar_one()
    )


def language_of(subject: str, body: str) -> str | None:
    guess = detect_language(f"{subject}\n{body}")
    return None if guess is None else guess.code


def _channel_tags(session: Session, first: Message) -> tuple[str, ...]:
    """The tags the edge recorded with the raw input (a web form's ``tags:`` fields)."""
    if first.inbound_id is None:
        return ()
    envelope = inbound_envelope(session, first.inbound_id)
    return tuple(text_list(envelope or {}, "tags"))


def _mailbox(session: Session, first: Message) -> str | None:
    if first.inbound_id is None:
        return None
    envelope = inbound_envelope(session, first.inbound_id)
    mailbox = (envelope or {}).get("mailbox")
    return str(mailbox) if mailbox else None


def _recent_contacts(session: Session, ticket: Ticket, first: Message) -> int:
    since = first.created_at - timedelta(days=RECENT_CONTACT_DAYS)
    count = session.execute(
        _RECENT_CONTACTS,
        {"customer_id": ticket.customer_id, "since": since, "until": first.created_at},
    ).scalar_one()
    return max(1, int(count))

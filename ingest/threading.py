"""Find the ticket an inbound message continues, and say which signal matched.

Order (DESIGN.md, "Threading order"): a subject tag from a participant, then
``In-Reply-To`` / ``References`` against every stored Message-ID, else a new
ticket. A bare ticket number from someone not on the ticket never attaches to
it: guessing a number must not let a stranger write into another customer's ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import Message, Ticket
from normalize.threadkeys import ticket_numbers_in_subject
from normalize.types import InboundMessage

SUBJECT_TAG = "subject-tag"
IN_REPLY_TO = "in-reply-to"
REFERENCES = "references"
NEW_TICKET = "new-ticket"


@dataclass(frozen=True, slots=True)
class ThreadMatch:
    ticket: Ticket | None
    signal: str
    detail: str


def find_thread(session: Session, msg: InboundMessage, customer_id: int) -> ThreadMatch:
    mentions: list[str] = []
    for number in ticket_numbers_in_subject(msg.subject):
        ticket = session.get(Ticket, number)
        if ticket is None:
            mentions.append(f"mentions #{number} (no such ticket)")
        elif _is_participant(session, ticket, customer_id, msg.sender.email):
            return ThreadMatch(ticket, SUBJECT_TAG, f"[Ticket #{number}] in subject")
        else:
            mentions.append(f"mentions #{number} (sender not on that ticket)")

    for signal, ids in ((IN_REPLY_TO, msg.in_reply_to), (REFERENCES, msg.references[::-1])):
        for message_id in ids:
            ticket_id = session.execute(
                select(Message.ticket_id)
                .where(Message.message_id_header == message_id)
                .order_by(Message.id)
                .limit(1)
            ).scalar_one_or_none()
            if ticket_id is not None:
                ticket = session.get(Ticket, ticket_id)
                return ThreadMatch(ticket, signal, f"{signal} {message_id}")

    return ThreadMatch(None, NEW_TICKET, "; ".join(mentions) or "no thread reference")


def _is_participant(session: Session, ticket: Ticket, customer_id: int, sender: str) -> bool:
    if ticket.customer_id == customer_id:
        return True
    found = session.execute(
        select(Message.id)
        .where(Message.ticket_id == ticket.id, Message.sender == sender.lower())
        .limit(1)
    ).scalar_one_or_none()
    return found is not None

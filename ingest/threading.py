"""Find the ticket an inbound message continues, and say which signal matched.

Order (DESIGN.md, "Threading order"):

1. a reference we issued: a signed plus-address among the recipients, a signed
   Message-ID of ours in ``In-Reply-To``/``References`` (any sender: the
   signature proves they hold our mail), a subject tag from a participant;
2. ``In-Reply-To`` / ``References`` matching a stored Message-ID, from a
   participant of that ticket, so a newsletter or a thread shared by many
   customers never merges their tickets;
3. a stored message that answers this one (it arrived late): the answer's ticket;
4. the channel's conversation key (a Slack thread, an SMS number pair): the
   ticket of the latest message in that conversation, inside the channel's
   window (:class:`ConversationWindow`); outside it, a new ticket linked to
   that one;
5. otherwise a new ticket.

A bare ticket number from someone not on the ticket never attaches to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from config.statuses import RESOLVED
from ingest.models import Message, Ticket, utcnow
from normalize.references import ticket_from_address, ticket_from_message_id
from normalize.threadkeys import ticket_numbers_in_subject
from normalize.types import InboundMessage

SIGNED_ADDRESS = "signed-reply-address"
SIGNED_MESSAGE_ID = "signed-message-id"
SUBJECT_TAG = "subject-tag"
IN_REPLY_TO = "in-reply-to"
REFERENCES = "references"
ANSWERED_BY = "answered-by"
CONVERSATION = "conversation"
NEW_TICKET = "new-ticket"


# Run for every message: built once, with bound parameters (building one costs more
# than running it).
_ANSWER = (
    select(Message.id, Message.ticket_id)
    .where(Message.in_reply_to == bindparam("message_id"), Message.direction == "inbound")
    .order_by(Message.id)
    .limit(1)
)
_LATEST_IN_CONVERSATION = (
    select(Message.ticket_id)
    .where(Message.conversation_key == bindparam("key"))
    .order_by(Message.id.desc())
    .limit(1)
)
_TICKET_OF_MESSAGE_ID = (
    select(Message.ticket_id)
    .where(Message.message_id_header == bindparam("message_id"))
    .order_by(Message.id)
    .limit(1)
)


@dataclass(frozen=True, slots=True)
class ThreadMatch:
    ticket: Ticket | None
    signal: str
    detail: str
    # A conversation's ticket that the window no longer lets this message join:
    # the new ticket is linked to it.
    previous: Ticket | None = None


@dataclass(frozen=True, slots=True)
class ConversationWindow:
    """How long a channel's conversation keeps threading onto the same ticket.

    ``hours`` None: always (a Slack thread is one conversation for good). A number:
    while the ticket is unresolved, or was updated within that many hours.
    """

    hours: float | None = None

    def admits(self, ticket: Ticket) -> bool:
        if self.hours is None or ticket.status not in RESOLVED:
            return True
        return utcnow() - ticket.updated_at <= timedelta(hours=self.hours)


def find_thread(
    session: Session,
    msg: InboundMessage,
    customer_id: int,
    *,
    secret: bytes,
    recipients: Iterable[str] = (),
    window: ConversationWindow | None = None,
) -> ThreadMatch:
    signed = _signed_reference(session, msg, secret, recipients)
    if signed is not None:
        return signed
    sender = msg.sender.value
    notes: list[str] = []
    for number in ticket_numbers_in_subject(msg.subject):
        ticket = session.get(Ticket, number)
        if ticket is None:
            notes.append(f"mentions #{number} (no such ticket)")
        elif is_participant(session, ticket, customer_id, sender):
            return ThreadMatch(ticket, SUBJECT_TAG, f"[Ticket #{number}] in subject")
        else:
            notes.append(f"mentions #{number} (sender not on that ticket)")

    for signal, ids in ((IN_REPLY_TO, msg.in_reply_to), (REFERENCES, msg.references[::-1])):
        for message_id in ids:
            ticket = ticket_by_message_id(session, message_id)
            if ticket is None:
                continue
            if is_participant(session, ticket, customer_id, sender):
                return ThreadMatch(ticket, signal, f"{signal} {message_id}")
            notes.append(f"{signal} names ticket #{ticket.id}, but the sender is not on it")
    answered = _answered_by(session, msg, customer_id)
    if answered is not None:
        return answered
    if msg.conversation_key is not None and not msg.opens_conversation:
        conversation = _conversation(session, msg.conversation_key, window or ConversationWindow())
        if conversation is not None:
            return conversation
    return ThreadMatch(None, NEW_TICKET, "; ".join(dict.fromkeys(notes)) or "no thread reference")


def _answered_by(session: Session, msg: InboundMessage, customer_id: int) -> ThreadMatch | None:
    """A stored message from a participant answers this one: it arrived after its answer
    (two workers, a slow relay), so it joins the answer's ticket instead of opening one."""
    if msg.message_id is None:
        return None
    found = session.execute(_ANSWER, {"message_id": msg.message_id}).first()
    if found is None:
        return None
    ticket = session.get(Ticket, found.ticket_id)
    if ticket is None or not is_participant(session, ticket, customer_id, msg.sender.value):
        return None
    return ThreadMatch(ticket, ANSWERED_BY, f"answered by stored message {found.id}")


def _conversation(session: Session, key: str, window: ConversationWindow) -> ThreadMatch | None:
    """The ticket of the latest message in conversation ``key``, if the window admits it."""
    ticket_id = session.execute(_LATEST_IN_CONVERSATION, {"key": key}).scalar_one_or_none()
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None:
        return None
    if window.admits(ticket):
        return ThreadMatch(ticket, CONVERSATION, f"conversation {key}")
    detail = (
        f"conversation {key} was on ticket #{ticket.id}, {ticket.status} and idle "
        f"longer than the {window.hours:g} h window"
    )
    return ThreadMatch(None, NEW_TICKET, detail, previous=ticket)


def _signed_reference(
    session: Session, msg: InboundMessage, secret: bytes, recipients: Iterable[str]
) -> ThreadMatch | None:
    for address in recipients:
        number = ticket_from_address(secret, address)
        ticket = session.get(Ticket, number) if number is not None else None
        if ticket is not None:
            return ThreadMatch(ticket, SIGNED_ADDRESS, f"reply address for #{number}")
    for message_id in (*msg.in_reply_to, *msg.references[::-1]):
        number = ticket_from_message_id(secret, message_id)
        ticket = session.get(Ticket, number) if number is not None else None
        if ticket is not None:
            return ThreadMatch(ticket, SIGNED_MESSAGE_ID, f"our Message-ID {message_id}")
    return None


def ticket_by_message_id(session: Session, message_id: str) -> Ticket | None:
    ticket_id = session.execute(
        _TICKET_OF_MESSAGE_ID, {"message_id": message_id}
    ).scalar_one_or_none()
    return session.get(Ticket, ticket_id) if ticket_id is not None else None


def is_participant(session: Session, ticket: Ticket, customer_id: int, sender: str) -> bool:
    """The ticket's customer, or anyone who wrote on it or was written to on it."""
    if ticket.customer_id == customer_id:
        return True
    sender = sender.lower()
    found = session.execute(
        select(Message.id)
        .where(
            Message.ticket_id == ticket.id,
            or_(Message.sender == sender, Message.recipient == sender),
        )
        .limit(1)
    ).scalar_one_or_none()
    return found is not None

"""An agent's reply on a ticket: validated, stored, the SLA clock stopped, the send queued.

One transaction (the caller's): the ticket row is locked, the reply becomes an
outbound ``Message`` (``kind="reply"``, ``sender`` the author, checked by
:mod:`ingest.reply_author`; ``token_name`` the API token that sent it), the first reply sets
``first_responded_at`` (the first-response clock stops; later replies keep the first
time), an optional status change goes through :func:`ingest.status.change_status`
(which sets ``resolved_at`` for solved and closed), and outbox work asks the
``send_reply`` actor to send it on the ticket's channel. A reply to a new ticket
opens it.

Whether the reply reached the customer is read off the message (:func:`send_state`):
``external_id`` is the Message-ID it was sent with; a warning starting ``not sent:``
says why it was not (an address that bounces, a relay that refused it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import outbox
from ingest.db import TAKE_TURNS
from ingest.identity import is_bouncing
from ingest.models import Message, Ticket, utcnow
from ingest.reply_author import MAX_AUTHOR_CHARS, checked_author
from ingest.status import change_status
from ingest.views import message_summary, sla_view

MAX_BODY_CHARS = 64_000
KIND = "reply"
NOT_SENT = "not sent: "


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class ReplyRequest(BaseModel):
    """What an agent sends: the text, who wrote it, and optionally the status to set.

    ``author`` is checked apart from the rest (:mod:`ingest.reply_author`), against
    the token that sent the reply; :func:`record_reply` refuses an unchecked one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    body: Annotated[str, Field(min_length=1, max_length=MAX_BODY_CHARS), AfterValidator(_text)]
    author: Annotated[
        str | None,
        Field(
            description="The display name the customer sees, up to "
            f"{MAX_AUTHOR_CHARS} characters; by default the token's name"
        ),
    ] = None
    status: Literal["pending", "solved"] | None = None
    # The channel to answer on; by default the channel of the customer's latest message.
    channel: Annotated[str, Field(min_length=1, max_length=16)] | None = None


class ReplyRefused(ValueError):
    """The reply cannot be addressed as asked (no identity on the named channel)."""


def problems(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as ``{"field", "problem"}`` pairs an API client can show."""
    return [
        {"field": ".".join(str(part) for part in e["loc"]) or "request", "problem": e["msg"]}
        for e in error.errors(include_url=False)
    ]


def record_reply(
    session: Session, number: int, reply: ReplyRequest, token_name: str | None = None
) -> Message | None:
    """Store ``reply`` on ticket ``number`` and queue its send; None when there is no such
    ticket. The message is flushed, so it has an id; ``token_name`` is recorded on it.

    Raises ``UnsafeAuthor`` when the reply has no author or one unfit for a mail header.
    """
    author = checked_author(reply.author)
    ticket = session.get(Ticket, number, with_for_update=TAKE_TURNS)
    if ticket is None:
        return None
    now = utcnow()
    via = _answer_on(session, ticket, reply.channel)
    recipient = via.value if via is not None else ticket.customer.email
    message = Message(
        ticket_id=ticket.id,
        direction="outbound",
        kind=KIND,
        channel=via.channel if via is not None else ticket.channel,
        identity_id=via.identity_id if via is not None else None,
        conversation_key=via.conversation_key if via is not None else None,
        delivery_state="queued",
        sender=author,
        recipient=recipient,
        subject=ticket.subject,
        body_text=reply.body,
        body_full=reply.body,
        thread_signal="outbound",
        thread_detail=f"reply by {author}" + (f" (token {token_name})" if token_name else ""),
        token_name=token_name,
        created_at=now,
    )
    unsendable = _unsendable(session, recipient)
    if unsendable is not None:
        message.warnings = [NOT_SENT + unsendable]
        message.delivery_state = "failed"
        message.delivery_error = unsendable
    session.add(message)
    session.flush()
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
    ticket.updated_at = now
    status = reply.status or ("open" if ticket.status == "new" else None)
    if status is not None:
        by = f" with token {token_name}" if token_name else ""
        change_status(session, ticket, status, f"{author} replied{by}")
    if unsendable is None:
        outbox.add_work(session, outbox.SEND_REPLY, message_id=message.id)
    return message


@dataclass(frozen=True, slots=True)
class _Via:
    channel: str
    identity_id: int | None
    value: str
    conversation_key: str | None


def _answer_on(session: Session, ticket: Ticket, channel: str | None) -> _Via | None:
    """Where a reply goes: the channel and identity of the customer's latest message on this
    ticket, or of their latest message on the named channel (on any of their tickets)."""
    query = (
        select(Message)
        .where(Message.direction == "inbound", Message.kind == "message")
        .order_by(Message.id.desc())
        .limit(1)
    )
    if channel is None:
        latest = session.execute(query.where(Message.ticket_id == ticket.id)).scalar_one_or_none()
    else:
        same_ticket = session.execute(
            query.where(Message.ticket_id == ticket.id, Message.channel == channel)
        ).scalar_one_or_none()
        latest = (
            same_ticket
            or session.execute(
                query.join(Ticket, Ticket.id == Message.ticket_id).where(
                    Ticket.customer_id == ticket.customer_id, Message.channel == channel
                )
            ).scalar_one_or_none()
        )
        if latest is None:
            raise ReplyRefused(f"the customer has no identity on channel {channel!r}")
    if latest is None:
        return None
    conversation = latest.conversation_key if latest.ticket_id == ticket.id else None
    return _Via(latest.channel, latest.identity_id, latest.sender, conversation)


def _unsendable(session: Session, recipient: str | None) -> str | None:
    """Why a reply cannot go out at all, known before it is queued."""
    if not recipient:
        return "the customer has no address to reply to"
    if is_bouncing(session, recipient):
        return f"mail to {recipient} bounces"
    return None


def send_state(message: Message) -> str:
    """``sent`` (or ``delivered``), ``not sent`` or ``queued``: where an outbound reply stands."""
    state = message.delivery_state
    if state in ("sent", "delivered"):
        return str(state)
    if state == "failed" or any(str(w).startswith(NOT_SENT) for w in message.warnings):
        return "not sent"
    if message.external_id is not None:
        return "sent"
    return "queued"


def reply_view(message: Message, ticket: Ticket) -> dict[str, Any]:
    """The stored reply as the API and CLI show it, with the ticket's status and clock."""
    return {
        **message_summary(message),
        "kind": message.kind,
        "to": message.recipient,
        "send_state": send_state(message),
        "token": message.token_name,
        "warnings": list(message.warnings),
        "ticket": {"number": ticket.id, "status": ticket.status, "sla": sla_view(ticket)},
    }

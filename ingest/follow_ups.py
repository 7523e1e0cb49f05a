"""What a ticket's follow-up page shows and needs: the customer-visible conversation,
the web conversation to continue, and revocation of the page's links.

Internal notes, colleagues' messages in a Slack thread and auto-replies never show:
only the customer's own messages and the replies agents sent them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ingest.db import insert_ignoring_conflicts
from ingest.models import FollowUpRevocation, Message, Ticket, utcnow

WEB = "web"


@dataclass(frozen=True, slots=True)
class Shown:
    """One message of the conversation as the customer sees it."""

    from_customer: bool
    author: str
    body: str
    at: datetime


@dataclass(frozen=True, slots=True)
class WebConversation:
    """The ticket's web conversation: who wrote it and its conversation key."""

    ticket_id: int
    status: str
    subject: str
    email: str
    name: str
    conversation_key: str


def visible_messages(session: Session, ticket_id: int) -> list[Shown]:
    rows = session.execute(
        select(Message)
        .where(
            Message.ticket_id == ticket_id,
            or_(
                and_(Message.direction == "inbound", Message.kind == "message"),
                and_(Message.direction == "outbound", Message.kind == "reply"),
            ),
        )
        .order_by(Message.id)
    ).scalars()
    return [
        Shown(
            from_customer=row.direction == "inbound",
            author=row.sender,
            body=row.body_text,
            at=row.created_at,
        )
        for row in rows
    ]


def web_conversation(session: Session, ticket_id: int) -> WebConversation | None:
    """The latest web conversation on the ticket, or None if it has none."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    latest = session.execute(
        select(Message)
        .where(
            Message.ticket_id == ticket_id,
            Message.direction == "inbound",
            Message.channel == WEB,
            Message.conversation_key.is_not(None),
        )
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None or latest.conversation_key is None:
        return None
    return WebConversation(
        ticket_id=ticket.id,
        status=ticket.status,
        subject=ticket.subject,
        email=latest.sender,
        name=ticket.customer.name,
        conversation_key=latest.conversation_key,
    )


def revoke(session: Session, ticket_id: int) -> bool:
    """Every follow-up link of the ticket issued until now stops working; False if no ticket."""
    if session.get(Ticket, ticket_id) is None:
        return False
    now = utcnow()
    session.execute(
        insert_ignoring_conflicts(session, FollowUpRevocation),
        [{"ticket_id": ticket_id, "revoked_at": now}],
    )
    row = session.get(FollowUpRevocation, ticket_id, with_for_update=True)
    assert row is not None
    row.revoked_at = now
    return True


def revoked_at(session: Session, ticket_id: int) -> datetime | None:
    row = session.get(FollowUpRevocation, ticket_id)
    return row.revoked_at if row is not None else None

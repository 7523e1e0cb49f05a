"""Small lookups several stages share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import DecisionRecord, Message


def first_inbound(session: Session, ticket_id: int) -> Message | None:
    """The customer message that opened the ticket."""
    return session.execute(
        select(Message)
        .where(Message.ticket_id == ticket_id, Message.direction == "inbound")
        .order_by(Message.id)
        .limit(1)
    ).scalar_one_or_none()


def latest_decision(session: Session, ticket_id: int) -> DecisionRecord | None:
    return session.execute(
        select(DecisionRecord)
        .where(DecisionRecord.ticket_id == ticket_id)
        .order_by(DecisionRecord.id.desc())
        .limit(1)
    ).scalar_one_or_none()

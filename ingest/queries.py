"""Small lookups several stages share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from ingest.envelope import JsonValue
from ingest.models import DecisionRecord, InboundRecord, Message


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


def inbound_envelope(session: Session, inbound_id: int) -> dict[str, JsonValue] | None:
    """What the edge stored with inbound record ``inbound_id`` (None if there is none).

    The record ingest is processing is already in the session: its envelope is read
    from there, not queried again (and the raw input is never loaded just for this).
    """
    held = session.identity_map.get(identity_key(InboundRecord, inbound_id))
    if isinstance(held, InboundRecord):
        return held.envelope
    return session.execute(
        select(InboundRecord.envelope).where(InboundRecord.id == inbound_id)
    ).scalar_one_or_none()

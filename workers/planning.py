"""Plan hand-offs: one ``Delivery`` row per destination, message and event, plus its work.

Idempotent by construction: the delivery's key is derived from what it delivers, and
the insert ignores a row that exists, so planning twice (triage or a sweep running
again) never sends twice.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from ingest import outbox
from ingest.db import insert_ignoring_conflicts
from ingest.models import Delivery

TICKET_CREATED = "ticket.created"
MESSAGE_APPENDED = "message.appended"
STATUS_CHANGED = "ticket.status_changed"
ESCALATED = "ticket.escalated"


def idempotency_key(destination: str, message_id: int, event: str) -> str:
    """The key a receiver uses to keep one external record per hand-off."""
    digest = hashlib.sha256(f"{destination}:{message_id}:{event}".encode()).hexdigest()[:40]
    return f"omniroute-{digest}"


def plan_delivery(
    session: Session, ticket_id: int, message_id: int, destination: str, event: str
) -> int | None:
    """Plan ``event`` for ``message_id`` to ``destination``; the new delivery's id, or None
    when it was already planned."""
    delivery_id = session.execute(
        insert_ignoring_conflicts(session, Delivery)
        .values(
            ticket_id=ticket_id,
            message_id=message_id,
            destination=destination,
            event=event,
            idempotency_key=idempotency_key(destination, message_id, event),
            status="pending",
            attempts=0,
        )
        .returning(Delivery.id)
    ).scalar_one_or_none()
    if delivery_id is not None:
        outbox.add_work(session, outbox.DELIVER, delivery_id=delivery_id)
    return delivery_id

"""Plan hand-offs: one ``Delivery`` row per destination, message and event, plus its work.

Idempotent by construction: the delivery's key is derived from what it delivers, and
the insert ignores a row that exists, so planning twice (triage or a sweep running
again) never sends twice. Planning a ``ticket.created`` hand-off also plans the
``message.appended`` hand-offs of customer messages already on the ticket after the
first, so a reply that arrived before triage still follows the ticket.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import outbox
from ingest.db import insert_ignoring_conflicts
from ingest.models import Delivery, Message

TICKET_CREATED = "ticket.created"
MESSAGE_APPENDED = "message.appended"
STATUS_CHANGED = "ticket.status_changed"
ESCALATED = "ticket.escalated"
# The kind of an inbound message a customer wrote (not an auto-reply note, not a bounce).
CUSTOMER_MESSAGE = "message"


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
        if event == TICKET_CREATED:
            # Customer messages that arrived before the ticket was routed follow it.
            for later in later_customer_messages(session, ticket_id, message_id):
                plan_delivery(session, ticket_id, later, destination, MESSAGE_APPENDED)
    return delivery_id


def later_customer_messages(session: Session, ticket_id: int, message_id: int) -> list[int]:
    """Ids of the customer's messages on the ticket after ``message_id`` (no notes, bounces)."""
    return list(
        session.execute(
            select(Message.id)
            .where(
                Message.ticket_id == ticket_id,
                Message.id > message_id,
                Message.direction == "inbound",
                Message.kind == CUSTOMER_MESSAGE,
            )
            .order_by(Message.id)
        ).scalars()
    )

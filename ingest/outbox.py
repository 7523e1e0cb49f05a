"""Outbox rows: work for an actor, committed with the change that caused it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ingest.models import OutboxEntry, utcnow

# Actor names, shared by the writers here and the actors in ``workers``.
INGEST = "ingest"
TRIAGE = "triage"
DELIVER = "deliver"
ACKNOWLEDGE = "acknowledge"
# Plan hand-offs of a customer message added to a ticket, or of a status change.
FOLLOW_UP = "follow_up"
STATUS_CHANGE = "status_change"
# Send an agent's reply to the customer on the ticket's channel.
SEND_REPLY = "send_reply"


def add_work(
    session: Session, actor: str, *, delay: timedelta | None = None, **payload: Any
) -> OutboxEntry:
    """Queue ``actor(**payload)`` to run once the surrounding transaction commits."""
    now = utcnow()
    not_before: datetime = now + delay if delay else now
    entry = OutboxEntry(actor=actor, payload=payload, created_at=now, not_before=not_before)
    session.add(entry)
    return entry

"""Internal events on a ticket's timeline (status changes, escalations, assignments).

An event is a ``Message`` with ``direction="internal"`` and ``kind="event"``: it shows
in ``tickets show`` beside the conversation, and a hand-off of the event (a status
change, an escalation) refers to it like any other message.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ingest.models import Message, Ticket, utcnow
from ingest.rows import insert_loaded


def record_event(
    session: Session, ticket: Ticket, what: str, *, channel: str = "system"
) -> Message:
    """Add ``what`` (one human sentence) to the ticket's timeline, written at once (it has
    its id)."""
    return insert_loaded(
        session,
        Message,
        {
            "ticket_id": ticket.id,
            "direction": "internal",
            "kind": "event",
            "channel": channel,
            "sender": "omniroute",
            "subject": ticket.subject,
            "body_text": what,
            "body_full": what,
            "thread_signal": "event",
            "thread_detail": what[:200],
            "created_at": utcnow(),
        },
    )

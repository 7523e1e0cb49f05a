"""Change a ticket's status: the timeline event, the clock fields, and the hand-off work.

Statuses: ``new`` (not looked at), ``open``, ``pending`` (waiting on the customer),
``solved``, ``closed``. A change is recorded as a timeline event whose text has a fixed
form (``Status changed from open to solved: <reason>``, see :func:`status_event_text`)
so the hand-off can say what changed; work in the outbox then plans
``ticket.status_changed`` deliveries to the webhook destinations that got the ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from config.statuses import RESOLVED, STATUSES
from ingest import outbox
from ingest.events import record_event
from ingest.models import Message, Ticket, utcnow

_EVENT = re.compile(
    rf"Status changed from ({'|'.join(STATUSES)}) to ({'|'.join(STATUSES)})(?:: (.*))?\Z", re.S
)


@dataclass(frozen=True, slots=True)
class StatusChange:
    old: str
    new: str
    reason: str


def status_event_text(old: str, new: str, reason: str) -> str:
    """The timeline sentence of a status change; :func:`parse_status_event` reads it back."""
    reason = " ".join(reason.split())
    return f"Status changed from {old} to {new}" + (f": {reason}" if reason else "")


def parse_status_event(text: str) -> StatusChange | None:
    """The change a status event's text records, or None for any other text."""
    match = _EVENT.match(text)
    if match is None:
        return None
    return StatusChange(match.group(1), match.group(2), match.group(3) or "")


def change_status(session: Session, ticket: Ticket, status: str, reason: str) -> Message | None:
    """Set ``ticket``'s status; the recorded event, or None when it already had that status.

    ``closed_at`` is set on closing and cleared on any other status; ``resolved_at`` is
    set when the ticket becomes solved or closed (kept from solved to closed) and
    cleared when it is reopened, so the resolution clock runs again.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r} (known: {', '.join(STATUSES)})")
    old = ticket.status
    if old == status:
        return None
    now = utcnow()
    ticket.status = status
    ticket.updated_at = now
    ticket.closed_at = now if status == "closed" else None
    if status in RESOLVED:
        ticket.resolved_at = ticket.resolved_at or now
    else:
        ticket.resolved_at = None
    event = record_event(session, ticket, status_event_text(old, status, reason))
    outbox.add_work(session, outbox.STATUS_CHANGE, ticket_id=ticket.id, message_id=event.id)
    return event

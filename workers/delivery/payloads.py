"""The JSON documents we hand to other help desks (schema documented in the README).

One shape for every event: the ticket as it is now, the message the event is about
(the first customer message, a new one, or the timeline event of a status change or
an escalation), and the latest decision. A status change adds ``change``; every event
after the first names the receiver's own id for the ticket in ``external_ticket_id``
when it gave us one.
"""

from __future__ import annotations

from typing import Any

from ingest.models import DecisionRecord, Message, Ticket
from ingest.status import parse_status_event
from ingest.views import decision_view, message_summary, ticket_summary
from workers.delivery.planning import STATUS_CHANGED, TICKET_CREATED

SCHEMA_VERSION = 1


def handoff_document(
    event: str,
    delivery_id: int,
    ticket: Ticket,
    message: Message,
    decision: DecisionRecord | None,
    *,
    external_ticket_id: str | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event": event,
        "delivery_id": delivery_id,
        "ticket": ticket_summary(ticket),
        "message": message_summary(message),
        "decision": decision_view(decision),
    }
    if event != TICKET_CREATED:
        document["external_ticket_id"] = external_ticket_id
    if event == STATUS_CHANGED:
        change = parse_status_event(message.body_text)
        document["change"] = (
            None
            if change is None
            else {
                "from": change.old,
                "to": change.new,
                "reason": change.reason,
                "changed_at": message.created_at.isoformat(),
            }
        )
    return document

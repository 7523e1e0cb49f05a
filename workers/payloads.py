"""The JSON documents we hand to other help desks (schema documented in the README)."""

from __future__ import annotations

from typing import Any

from ingest.models import DecisionRecord, Message, Ticket
from ingest.views import attachment_view

SCHEMA_VERSION = 1


def ticket_document(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.id,
        "status": ticket.status,
        "channel": ticket.channel,
        "subject": ticket.subject,
        "category": ticket.category,
        "priority": ticket.priority,
        "team": ticket.team,
        "customer": {"name": ticket.customer.name, "email": ticket.customer.email},
        "created_at": ticket.created_at.isoformat(),
    }


def message_document(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "channel": message.channel,
        "external_id": message.external_id,
        "from": message.sender,
        "subject": message.subject,
        "body_text": message.body_text,
        "received_at": message.created_at.isoformat(),
        "attachments": [attachment_view(a) for a in message.attachments],
    }


def decision_document(decision: DecisionRecord | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "category": decision.category,
        "priority": decision.priority,
        "team": decision.team,
        "destinations": list(decision.destinations),
        "rules_version": decision.rules_version,
        "reasons": list(decision.trace),
    }


def handoff_document(
    event: str,
    delivery_id: int,
    ticket: Ticket,
    message: Message,
    decision: DecisionRecord | None,
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "event": event,
        "delivery_id": delivery_id,
        "ticket": ticket_document(ticket),
        "message": message_document(message),
        "decision": decision_document(decision),
    }

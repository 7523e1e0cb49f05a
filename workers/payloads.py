"""The JSON documents we hand to other help desks (schema documented in the README)."""

from __future__ import annotations

from typing import Any

from ingest.models import DecisionRecord, Message, Ticket
from ingest.views import decision_view, message_summary, ticket_summary

SCHEMA_VERSION = 1


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
        "ticket": ticket_summary(ticket),
        "message": message_summary(message),
        "decision": decision_view(decision),
    }

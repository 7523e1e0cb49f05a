"""Read-only views of tickets for the CLI and the HTTP API (JSON-safe dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ingest.models import (
    Attachment,
    AutomatedSend,
    DecisionRecord,
    Delivery,
    Message,
    MessageRevision,
    Ticket,
)
from ingest.queries import latest_decision


def list_tickets(session: Session, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    tickets = session.execute(
        select(Ticket)
        .options(selectinload(Ticket.customer))
        .order_by(Ticket.id.desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    return [ticket_view(session, t, with_messages=False) for t in tickets]


def show_ticket(session: Session, number: int) -> dict[str, Any] | None:
    ticket = session.get(Ticket, number)
    return None if ticket is None else ticket_view(session, ticket, with_messages=True)


def first_sender(session: Session, number: int) -> str | None:
    """The address (email, phone number, chat user) ticket ``number``'s first customer
    message came from."""
    first = session.execute(
        select(Message)
        .where(Message.ticket_id == number, Message.direction == "inbound")
        .order_by(Message.id)
        .limit(1)
    ).scalar_one_or_none()
    identity = None if first is None else _identity_of(first)
    return None if identity is None else identity["value"]


def ticket_view(session: Session, ticket: Ticket, *, with_messages: bool) -> dict[str, Any]:
    decision = latest_decision(session, ticket.id)
    first = session.execute(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id).limit(1)
    ).scalar_one_or_none()
    deliveries = session.execute(
        select(Delivery).where(Delivery.ticket_id == ticket.id).order_by(Delivery.id)
    ).scalars()
    ack = session.execute(
        select(AutomatedSend).where(AutomatedSend.ticket_id == ticket.id)
    ).scalars()
    view: dict[str, Any] = {
        **ticket_summary(ticket),
        "linked_ticket": ticket.linked_ticket_id,
        "updated_at": ticket.updated_at.isoformat(),
        "sla": sla_view(ticket),
        "decision": decision_view(decision),
        "threading": None
        if first is None
        else {"signal": first.thread_signal, "detail": first.thread_detail},
        "deliveries": [delivery_summary(d) for d in deliveries],
        "automated_sends": [
            {"purpose": a.purpose, "status": a.status, "reason": a.reason, "to": a.recipient}
            for a in ack
        ],
    }
    if with_messages:
        view["messages"] = [_message_view(m) for m in ticket.messages]
    return view


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """The ticket fields every consumer sees (API, CLI, hand-off payloads)."""
    return {
        "number": ticket.id,
        "status": ticket.status,
        "channel": ticket.channel,
        "customer": {
            "id": ticket.customer.id,
            "name": ticket.customer.name,
            "email": ticket.customer.email,
        },
        "subject": ticket.subject,
        "category": ticket.category,
        "priority": ticket.priority,
        "team": ticket.team,
        "assignee": ticket.assignee,
        "tags": list(ticket.tags),
        "language": ticket.language,
        "tier": ticket.tier,
        "created_at": ticket.created_at.isoformat(),
    }


def delivery_summary(delivery: Delivery) -> dict[str, Any]:
    """One hand-off and where it stands (ticket view; ``deliveries list`` adds more)."""
    return {
        "id": delivery.id,
        "destination": delivery.destination,
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "external_id": delivery.external_id,
        "last_error": delivery.last_error,
        "next_attempt_at": _iso(delivery.next_attempt_at),
    }


def decision_view(decision: DecisionRecord | None) -> dict[str, Any] | None:
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


def message_summary(message: Message) -> dict[str, Any]:
    """The message fields every consumer sees (API, CLI, hand-off payloads)."""
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


def _message_view(message: Message) -> dict[str, Any]:
    return {
        **message_summary(message),
        "kind": message.kind,
        "thread_signal": message.thread_signal,
        "thread_detail": message.thread_detail,
        "identity": _identity_of(message),
        "conversation_key": message.conversation_key,
        "delivery_state": message.delivery_state,
        "delivery_error": message.delivery_error,
        "auto_reasons": list(message.auto_reasons),
        "warnings": list(message.warnings),
        "revisions": [
            {
                "kind": r.kind,
                "previous_text": r.previous_text,
                "changed_at": r.changed_at.isoformat(),
            }
            for r in message.revisions
        ],
    }


def _revision_view(revision: MessageRevision) -> dict[str, Any]:
    return {
        "kind": revision.kind,
        "previous_text": revision.previous_text,
        "changed_at": revision.changed_at.isoformat(),
    }


def _identity_of(message: Message) -> dict[str, str] | None:
    """The identity an inbound message came from, or an outbound one went to."""
    if message.identity is not None:
        return {"kind": message.identity.kind, "value": message.identity.value}
    if message.direction == "inbound":
        return {"kind": message.sender_kind or "email", "value": message.sender}
    if message.direction == "outbound" and message.recipient:
        return {"kind": "email", "value": message.recipient}
    return None


def attachment_view(attachment: Attachment) -> dict[str, Any]:
    return {
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "refused_reason": attachment.refused_reason,
    }


def sla_view(ticket: Ticket) -> dict[str, str | None]:
    """The ticket's SLA clock: due dates and when they were met."""
    return {
        "first_response_due_at": _iso(ticket.first_response_due_at),
        "first_responded_at": _iso(ticket.first_responded_at),
        "resolution_due_at": _iso(ticket.resolution_due_at),
        "resolved_at": _iso(ticket.resolved_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

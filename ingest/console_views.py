"""What the ops console lists: filtered tickets, failing hand-offs, held input, breaches.

Read-only and JSON-safe, like ``views.py``; the console renders them as pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from ingest.models import Delivery, FailedWork, InboundRecord, SlaBreach, Ticket
from ingest.views import delivery_summary, ticket_summary

FAILING = ("retrying", "dead", "rejected")
HELD = ("quarantined", "failed")


@dataclass(frozen=True, slots=True)
class TicketFilter:
    status: str | None = None
    channel: str | None = None
    team: str | None = None
    priority: str | None = None
    text: str | None = None

    def applied(self) -> dict[str, str]:
        """The fields that were given, for links that keep the filter."""
        names = ("status", "channel", "team", "priority", "text")
        return {name: value for name in names if (value := getattr(self, name))}


def filter_tickets(
    session: Session, wanted: TicketFilter, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest tickets matching every given field; ``text`` searches subject and number."""
    query = select(Ticket).options(selectinload(Ticket.customer))
    for name in ("status", "channel", "team", "priority"):
        value = getattr(wanted, name)
        if value:
            query = query.where(getattr(Ticket, name) == value)
    if wanted.text:
        text = wanted.text.strip().lstrip("#")
        clause = Ticket.subject.ilike(f"%{text}%")
        query = query.where(or_(clause, Ticket.id == int(text)) if text.isdigit() else clause)
    rows = session.scalars(query.order_by(Ticket.id.desc()).limit(limit))
    return [ticket_summary(t) for t in rows]


def ticket_filter_choices(session: Session) -> dict[str, list[str]]:
    """The values each filter can take, from the tickets stored."""
    choices = {}
    for name in ("status", "channel", "team", "priority"):
        column = getattr(Ticket, name)
        values = session.scalars(select(column).where(column.is_not(None)).distinct())
        choices[name] = sorted(str(v) for v in values)
    return choices


def ticket_deliveries(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    """Every hand-off of a ticket with every attempt, oldest first."""
    rows = session.scalars(
        select(Delivery)
        .options(selectinload(Delivery.attempt_log))
        .where(Delivery.ticket_id == ticket_id)
        .order_by(Delivery.id)
    )
    return [_with_attempts(d) for d in rows]


def failing_deliveries(
    session: Session, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Hand-offs that are retrying, dead or rejected (or only ``status``), newest first."""
    statuses = (status,) if status else FAILING
    rows = session.scalars(
        select(Delivery)
        .options(selectinload(Delivery.attempt_log))
        .where(Delivery.status.in_(statuses))
        .order_by(Delivery.updated_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return [_with_attempts(d) for d in rows]


def _with_attempts(delivery: Delivery) -> dict[str, Any]:
    return {
        **delivery_summary(delivery),
        "ticket": delivery.ticket_id,
        "updated_at": delivery.updated_at.isoformat(),
        "attempt_log": [
            {
                "attempted_at": a.attempted_at.isoformat(),
                "outcome": a.outcome,
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in delivery.attempt_log
        ],
    }


def held_inbound(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Input kept but not turned into a ticket message (quarantined or failed), newest first."""
    rows = session.execute(
        select(
            InboundRecord.id,
            InboundRecord.channel,
            InboundRecord.status,
            InboundRecord.status_reason,
            InboundRecord.received_at,
            func.coalesce(InboundRecord.raw_size, func.length(InboundRecord.raw)),
        )
        .where(InboundRecord.status.in_(HELD))
        .order_by(InboundRecord.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": record_id,
            "channel": channel,
            "status": status,
            "reason": reason,
            "received_at": received_at.isoformat(),
            "size": int(size or 0),
        }
        for record_id, channel, status, reason, received_at, size in rows
    ]


def failed_work(session: Session, limit: int = 100) -> list[dict[str, Any]]:
    """Work that failed through a bug and was not replayed yet, newest first."""
    rows = session.scalars(
        select(FailedWork)
        .where(FailedWork.replayed_at.is_(None))
        .order_by(FailedWork.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": f.id,
            "stage": f.stage,
            "payload": dict(f.payload),
            "error": f.error,
            "created_at": f.created_at.isoformat(),
        }
        for f in rows
    ]


def sla_breaches(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Missed SLA targets, newest first, with the ticket's current state."""
    rows = session.execute(
        select(SlaBreach, Ticket)
        .join(Ticket, Ticket.id == SlaBreach.ticket_id)
        .order_by(SlaBreach.breached_at.desc())
        .limit(limit)
    )
    return [
        {
            "ticket": ticket.id,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "team": ticket.team,
            "kind": breach.kind,
            "due_at": breach.due_at.isoformat(),
            "breached_at": breach.breached_at.isoformat(),
            "actions": list(breach.actions),
        }
        for breach, ticket in rows
    ]

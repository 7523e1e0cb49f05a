"""Triage a ticket: gather facts, ask the router, store the decision, plan deliveries."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.rules import RuleSet
from ingest.models import DecisionRecord, Message, Ticket
from ingest.queries import first_inbound
from router.engine import decide
from router.types import Decision, TicketFacts
from workers.planning import TICKET_CREATED, plan_delivery


def triage_ticket(session: Session, ticket_id: int, rules: RuleSet) -> Decision | None:
    """Decide once per ticket and rule version; a second run with the same rules changes nothing."""
    ticket = session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is None:
        return None
    already = session.execute(
        select(DecisionRecord.id).where(
            DecisionRecord.ticket_id == ticket.id, DecisionRecord.rules_version == rules.version
        )
    ).scalar_one_or_none()
    if already is not None:
        return None
    first = first_inbound(session, ticket.id)
    if first is None:
        return None
    decision = decide(_facts(session, ticket, first), rules)
    session.add(
        DecisionRecord(
            ticket_id=ticket.id,
            category=decision.category,
            priority=decision.priority,
            team=decision.team,
            destinations=list(decision.destinations),
            trace=decision.reasons(),
            rules_version=decision.rules_version,
        )
    )
    ticket.category = decision.category
    ticket.priority = decision.priority
    ticket.team = decision.team
    for destination in decision.destinations:
        plan_delivery(session, ticket.id, first.id, destination, TICKET_CREATED)
    return decision


def _facts(session: Session, ticket: Ticket, first: Message) -> TicketFacts:
    count = session.execute(
        select(func.count(Message.id)).where(
            Message.ticket_id == ticket.id, Message.direction == "inbound"
        )
    ).scalar_one()
    return TicketFacts(
        number=ticket.id,
        channel=ticket.channel,
        subject=ticket.subject,
        body=first.body_text,
        sender_email=first.sender,
        recipient=first.recipient,
        has_attachments=bool(first.attachments),
        is_automated=bool(first.auto_reasons),
        message_count=int(count),
    )

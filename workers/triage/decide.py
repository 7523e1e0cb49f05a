"""Triage a ticket: gather facts, ask the router, store the decision, plan deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from config.rules import RuleSet
from ingest.corrections import AGENT
from ingest.db import TAKE_TURNS
from ingest.models import DecisionRecord, Message, Ticket, utcnow
from ingest.opened import Opened
from ingest.queries import first_inbound
from ingest.rows import update_loaded
from router.classifier.types import CategoryClassifier
from router.engine import decide
from router.escalation_floor import keep_escalated
from router.sla import due_dates
from router.types import Decision
from workers.delivery.planning import TICKET_CREATED, plan_delivery
from workers.triage.assignment import apply_assignment, routing_state
from workers.triage.escalations import escalation_floor
from workers.triage.facts import ticket_facts

_INSERT_DECISION = insert(DecisionRecord)


def triage_ticket(
    session: Session,
    ticket_id: int,
    rules: RuleSet,
    now: datetime | None = None,
    classifier: CategoryClassifier | None = None,
    *,
    opened: Opened | None = None,
) -> Decision | None:
    """Decide once per ticket and rule version; a second run with the same rules changes nothing.

    ``now`` is when agents' availability is judged (the current time by default);
    ``classifier`` is the category model the rules name, if any. A category an agent
    corrected stays. ``opened``: the ticket was opened in this transaction by its
    first message, so there is nothing to look up or lock (no decision, no breach).
    """
    if opened is not None:
        ticket, first = opened.ticket, opened.first
    else:
        found = _ticket_to_decide(session, ticket_id, rules)
        if found is None:
            return None
        ticket, first = found
    state = routing_state(session, ticket, rules)
    facts = ticket_facts(session, ticket, first, opened=opened is not None)
    decision = decide(facts, rules, state, now or utcnow(), classifier)
    if opened is None:
        # New rules never undo an SLA escalation: the ticket keeps at least the raised priority.
        decision = keep_escalated(decision, escalation_floor(session, ticket.id))
    # Nothing in this transaction reads the decision back: a row, not an ORM object.
    session.connection().execute(
        _INSERT_DECISION,
        {
            "ticket_id": ticket.id,
            "category": decision.category,
            "priority": decision.priority,
            "team": decision.team,
            "destinations": list(decision.destinations),
            "tags": list(decision.tags),
            "assignee": decision.assignee,
            "trace": decision.reasons(),
            "rules_version": decision.rules_version,
        },
    )
    # The decision's columns in one Core ``UPDATE``: a flush of the changed ticket cost
    # the unit of work's bookkeeping, several times the statement.
    changes: dict[str, Any] = {
        "priority": decision.priority,
        "tier": decision.tier,
        "language": decision.language,
        "tags": [*ticket.tags, *(tag for tag in decision.tags if tag not in ticket.tags)],
    }
    if ticket.category_source != AGENT:
        changes["category"] = decision.category
        changes["category_source"] = decision.category_source
    changes.update(apply_assignment(session, ticket, decision))
    due = due_dates(rules, decision.priority, decision.tier, decision.team, ticket.created_at)
    changes["first_response_due_at"] = due.first_response
    changes["resolution_due_at"] = due.resolution
    update_loaded(ticket, changes)
    for destination in decision.destinations:
        plan_delivery(session, ticket.id, first.id, destination, TICKET_CREATED)
    return decision


def _ticket_to_decide(
    session: Session, ticket_id: int, rules: RuleSet
) -> tuple[Ticket, Message] | None:
    """The ticket, locked, and its first message; None when there is nothing to decide."""
    ticket = session.get(Ticket, ticket_id, with_for_update=TAKE_TURNS)
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
    return ticket, first

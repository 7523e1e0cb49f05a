"""``omniroute replay``: decide stored tickets again under new rules, write nothing.

Reads in batches inside one read-only transaction that is rolled back at the end,
so a replay can neither change a ticket nor plan a hand-off.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet
from ingest.corrections import AGENT
from ingest.models import Ticket
from ingest.queries import first_inbound, latest_decision
from router.classifier.types import CategoryClassifier
from router.engine import decide
from router.escalation_floor import keep_escalated
from router.replay import ReplayReport, StoredDecision, summarize
from router.types import Decision, at_least
from workers.triage.assignment import routing_state
from workers.triage.escalations import escalation_floor
from workers.triage.facts import ticket_facts

BATCH = 500


def replay(
    sessions: sessionmaker[Session],
    rules: RuleSet,
    *,
    since: datetime | None = None,
    limit: int | None = None,
    examples: int = 3,
    classifier: CategoryClassifier | None = None,
) -> ReplayReport:
    """Compare every stored ticket (created at or after ``since``) under ``rules`` and the
    category model they name (``classifier``)."""
    with sessions() as session:
        try:
            decided = _decided(session, rules, since, limit, classifier)
            return summarize(decided, examples=examples)
        finally:
            session.rollback()


def _decided(
    session: Session,
    rules: RuleSet,
    since: datetime | None,
    limit: int | None,
    classifier: CategoryClassifier | None,
) -> Iterator[tuple[int, StoredDecision | None, Decision]]:
    last_id = 0
    seen = 0
    while limit is None or seen < limit:
        query = select(Ticket).where(Ticket.id > last_id).order_by(Ticket.id).limit(BATCH)
        if since is not None:
            query = query.where(Ticket.created_at >= since)
        tickets = list(session.execute(query).scalars())
        if not tickets:
            return
        for ticket in tickets:
            last_id = ticket.id
            first = first_inbound(session, ticket.id)
            if first is None:
                continue
            seen += 1
            # As triage would decide: with the store's assignments (read, never locked)
            # and keeping what SLA escalations raised, on both sides of the comparison.
            state = routing_state(session, ticket, rules, read_only=True)
            floor = escalation_floor(session, ticket.id)
            decision = decide(ticket_facts(session, ticket, first), rules, state, None, classifier)
            corrected = ticket.category if ticket.category_source == AGENT else None
            if corrected is not None:
                # Triage keeps a category an agent corrected, whatever the rules say.
                decision = replace(decision, category=corrected)
            decision = keep_escalated(decision, floor)
            yield ticket.id, _stored(session, ticket.id, floor, corrected), decision
            if limit is not None and seen >= limit:
                return
        session.expunge_all()  # keep memory flat over a large store


def _stored(
    session: Session, ticket_id: int, floor: str | None, corrected: str | None
) -> StoredDecision | None:
    """The latest decision, with the priority an escalation raised it to since."""
    record = latest_decision(session, ticket_id)
    if record is None:
        return None
    return StoredDecision(
        category=corrected or record.category,
        priority=at_least(record.priority, floor),
        team=record.team,
        destinations=tuple(record.destinations),
    )

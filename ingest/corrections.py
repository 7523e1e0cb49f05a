"""An agent's correction of a ticket's category: kept by triage, learned by ``omniroute train``.

The ticket's ``category_source`` becomes ``"agent"``, so a re-triage under new rules
leaves the category alone, and ``omniroute train --from-store`` uses the ticket as a
labelled example. The correction is written on the ticket's timeline.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ingest.events import record_event
from ingest.models import Message, Ticket, utcnow

AGENT = "agent"


def correct_category(session: Session, ticket: Ticket, category: str, by: str) -> Message | None:
    """Set ``ticket``'s category as a person decided it; None when nothing changed."""
    if ticket.category == category and ticket.category_source == AGENT:
        return None
    before = ticket.category or "none"
    ticket.category = category
    ticket.category_source = AGENT
    ticket.updated_at = utcnow()
    return record_event(session, ticket, f"Category corrected from {before} to {category} by {by}")

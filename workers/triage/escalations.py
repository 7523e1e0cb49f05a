"""What SLA escalations did to a ticket, read back for triage and ``omniroute replay``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import SlaBreach
from router.escalation_floor import escalated_priority


def escalation_floor(session: Session, ticket_id: int) -> str | None:
    """The highest priority the sweep raised ``ticket_id`` to, or None if it never did."""
    recorded = session.execute(
        select(SlaBreach.actions).where(SlaBreach.ticket_id == ticket_id)
    ).scalars()
    return escalated_priority(str(action) for actions in recorded for action in actions)

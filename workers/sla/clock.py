"""Start (or restart) a ticket's SLA clock: its due dates from priority, tier and team.

Called at triage and whenever the priority changes (an escalation raising it), so the
stored due dates always follow the ticket's current priority. The dates count from
the ticket's creation, so recomputing never moves the start.
"""

from __future__ import annotations

from config.rules import RulesDocument
from ingest.models import Ticket
from router.sla import DueDates, due_dates


def set_due_dates(
    ticket: Ticket, rules: RulesDocument, priority: str, tier: str | None, team: str | None
) -> DueDates:
    """Store on ``ticket`` when its first response and resolution are due; returns them."""
    due = due_dates(rules, priority, tier, team, ticket.created_at)
    ticket.first_response_due_at = due.first_response
    ticket.resolution_due_at = due.resolution
    return due

"""Assignment in the store: what the router needs to assign, and its answer kept.

``routing_state`` reads each agent's open tickets and each team's round-robin
cursor. It locks the cursor rows of every staffed team first (in name order, so two
workers never deadlock), so concurrent triages assign one after the other and two
tickets never take the same turn or the same last free slot. On SQLite every write
transaction is serial already. ``omniroute replay`` reads the same state read-only:
no cursor row is created or locked, so on PostgreSQL a dry run neither waits for a
triage nor holds one up. ``apply_assignment`` gives team and assignee, stores the cursor, and
puts an event on the ticket's timeline when the assignee changes.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.rules import RuleSet
from config.statuses import RESOLVED
from ingest.db import insert_for_dialect, insert_ignoring_conflicts
from ingest.events import record_event
from ingest.models import TeamCursor, Ticket, utcnow
from router.types import Decision, RoutingState


def routing_state(
    session: Session, ticket: Ticket, rules: RuleSet, *, read_only: bool = False
) -> RoutingState:
    """Loads, cursors and the ticket's current team and assignee; locks the cursors.

    ``read_only`` takes the cursors as stored (a team without a row is at 0), without
    creating or locking any.
    """
    staffed = sorted(name for name, team in rules.teams.items() if team.members)
    if not staffed:
        return RoutingState(assignee=ticket.assignee, team=ticket.team)
    query = (
        select(TeamCursor.team, TeamCursor.position)
        .where(TeamCursor.team.in_(staffed))
        .order_by(TeamCursor.team)
    )
    if not read_only:
        now = utcnow()
        session.execute(
            insert_ignoring_conflicts(session, TeamCursor).values(
                [{"team": name, "position": 0, "updated_at": now} for name in staffed]
            )
        )
        query = query.with_for_update()
    cursors = session.execute(query).all()
    members = sorted({m.name for name in staffed for m in rules.teams[name].members})
    loads = session.execute(
        select(Ticket.assignee, func.count(Ticket.id))
        .where(Ticket.assignee.in_(members), Ticket.status.not_in(RESOLVED))
        .group_by(Ticket.assignee)
    ).all()
    return RoutingState(
        loads={str(name): int(count) for name, count in loads},
        cursors={team: int(position) for team, position in cursors},
        assignee=ticket.assignee,
        team=ticket.team,
    )


def apply_assignment(session: Session, ticket: Ticket, decision: Decision) -> dict[str, str | None]:
    """The decision's team and assignee for ``ticket`` (the caller stores them with the
    rest of the decision); keeps the round-robin cursor and, when the assignee changes,
    puts an event on the timeline."""
    previous = ticket.assignee
    changes = {"team": decision.team, "assignee": decision.assignee}
    assignment = decision.assignment
    if assignment is not None and assignment.cursor is not None:
        now = utcnow()
        dialect = session.get_bind().dialect.name
        session.execute(
            insert_for_dialect(dialect, TeamCursor)
            .values(team=assignment.team, position=assignment.cursor, updated_at=now)
            .on_conflict_do_update(
                index_elements=[TeamCursor.team],
                set_={"position": assignment.cursor, "updated_at": now},
            )
        )
    if previous == decision.assignee:
        return changes
    how = f"team {decision.team}, {assignment.strategy}" if assignment else f"team {decision.team}"
    if decision.assignee is None:
        what = f"Unassigned from {previous} ({how})."
    elif previous is None:
        what = f"Assigned to {decision.assignee} ({how})."
    else:
        what = f"Reassigned from {previous} to {decision.assignee} ({how})."
    record_event(session, ticket, what)
    return changes

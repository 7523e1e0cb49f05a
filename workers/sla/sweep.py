"""The SLA sweep: escalate tickets past a due date, exactly once per missed target.

Each pass selects a bounded batch of open tickets past a due date without their
first response or resolution and not yet escalated for it, then handles each in a
transaction of its own: lock the ticket, look again, and insert one ``SlaBreach``
per missed target. The row is unique per ticket and kind, so when two schedulers
sweep at once only one of them inserts it, and only the one that inserted it
escalates, in the same transaction: the priority goes up one level (when
configured) and the clock follows it, the breach goes on the ticket's timeline, and
``ticket.escalated`` is planned to the escalation and notify destinations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import Exists

from config.rules import RuleSet
from config.statuses import RESOLVED
from ingest.db import TAKE_TURNS, insert_ignoring_conflicts, unit_of_work
from ingest.errors import StoreUnavailable
from ingest.events import record_event
from ingest.models import SlaBreach, Ticket, utcnow
from router.sla import (
    FIRST_RESPONSE,
    RESOLUTION,
    Breach,
    SlaClock,
    breaches,
    bumped,
    target_for,
)
from workers.delivery.planning import ESCALATED, plan_delivery
from workers.process.periodic import Periodic
from workers.process.runtime import Runtime
from workers.sla.clock import set_due_dates

log = logging.getLogger(__name__)

BATCH = 100
LABELS = {FIRST_RESPONSE: "first response", RESOLUTION: "resolution"}


def sweep(
    sessions: sessionmaker[Session],
    rules: RuleSet,
    now: datetime | None = None,
    limit: int = BATCH,
) -> int:
    """One batch: escalate up to ``limit`` tickets; returns how many tickets escalated."""
    now = now or utcnow()
    with unit_of_work(sessions) as session:
        ticket_ids = due_tickets(session, now, limit)
    escalated = 0
    for ticket_id in ticket_ids:
        try:
            with unit_of_work(sessions) as session:
                escalated += bool(escalate_ticket(session, ticket_id, rules, now))
        except StoreUnavailable:
            raise
        except Exception:  # one bad ticket must not stop the others
            log.exception("SLA escalation of ticket %s failed", ticket_id)
    return escalated


def due_tickets(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Open tickets past a due date without the answer or resolution, not yet escalated."""

    def escalated(kind: str) -> Exists:
        return exists().where(SlaBreach.ticket_id == Ticket.id, SlaBreach.kind == kind)

    late_answer = and_(
        Ticket.first_response_due_at <= now,
        Ticket.first_responded_at.is_(None),
        ~escalated(FIRST_RESPONSE),
    )
    late_resolution = and_(Ticket.resolution_due_at <= now, ~escalated(RESOLUTION))
    query = (
        select(Ticket.id)
        .where(
            Ticket.status.not_in(RESOLVED),
            Ticket.resolved_at.is_(None),
            or_(late_answer, late_resolution),
        )
        .order_by(Ticket.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def escalate_ticket(session: Session, ticket_id: int, rules: RuleSet, now: datetime) -> int:
    """Record and escalate each target ``ticket_id`` has missed and nobody escalated yet."""
    ticket = session.get(Ticket, ticket_id, with_for_update=TAKE_TURNS)
    if ticket is None:
        return 0
    clock = SlaClock(
        status=ticket.status,
        first_response_due_at=ticket.first_response_due_at,
        resolution_due_at=ticket.resolution_due_at,
        first_responded_at=ticket.first_responded_at,
        resolved_at=ticket.resolved_at,
    )
    count = 0
    for breach in breaches(clock, now):
        claimed = session.execute(
            insert_ignoring_conflicts(session, SlaBreach)
            .values(
                ticket_id=ticket.id,
                kind=breach.kind,
                due_at=breach.due_at,
                breached_at=now,
                actions=[],
            )
            .returning(SlaBreach.id)
        ).scalar_one_or_none()
        if claimed is None:
            continue  # another sweep escalated this one
        actions = _escalate(session, ticket, breach, rules, now)
        session.execute(update(SlaBreach).where(SlaBreach.id == claimed).values(actions=actions))
        count += 1
    return count


def _escalate(
    session: Session, ticket: Ticket, breach: Breach, rules: RuleSet, now: datetime
) -> list[str]:
    escalation = rules.sla.escalation
    actions: list[str] = []
    said = [f"SLA breached: {LABELS[breach.kind]} was due {breach.due_at:%Y-%m-%d %H:%M} UTC"]
    old = ticket.priority
    if escalation.bump_priority and old is not None and bumped(old) != old:
        new = bumped(old)
        ticket.priority = new
        if target_for(rules.sla, new, ticket.tier) is not None:  # else keep the dates
            set_due_dates(ticket, rules, new, ticket.tier, ticket.team)
        actions.append(f"priority {old} -> {new}")
        said.append(f"priority raised from {old} to {new}")
    destinations = list(escalation.destinations)
    notify = [name for name in escalation.notify if name not in destinations]
    if destinations:
        said.append(f"escalated to {', '.join(destinations)}")
    if notify:
        said.append(f"notified {', '.join(notify)}")
    ticket.updated_at = now
    event = record_event(session, ticket, "; ".join(said) + ".")
    for name in destinations:
        plan_delivery(session, ticket.id, event.id, name, ESCALATED)
        actions.append(f"escalated to {name}")
    for name in notify:
        plan_delivery(session, ticket.id, event.id, name, ESCALATED)
        actions.append(f"notified {name}")
    return actions


class SlaSweepLoop(Periodic):
    """Runs ``sweep`` every ``interval`` seconds, batch after batch while batches are full."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        rules: Callable[[], RuleSet],
        interval: float,
        on_work: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("SLA sweep", interval)
        self.sessions = sessions
        self.rules = rules
        self.on_work = on_work

    def run_pass(self) -> None:
        while not self.stopping:
            escalated = sweep(self.sessions, self.rules())
            if escalated and self.on_work is not None:
                self.on_work()  # the planned hand-offs go out now
            if escalated < BATCH:
                return


@contextmanager
def sla_sweeper(runtime: Runtime) -> Iterator[SlaSweepLoop]:
    """Sweep in the background, every ``OMNIROUTE_SLA_SWEEP_SECONDS``, while the block runs."""
    loop = SlaSweepLoop(
        runtime.sessions,
        lambda: runtime.rules,  # the rules in force at each pass (they reload)
        runtime.settings.sla_sweep_seconds,
        runtime.outbox_signal.set,
    )
    loop.start()
    try:
        yield loop
    finally:
        loop.stop()

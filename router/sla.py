"""The SLA clock: which target applies, when a ticket is due, and which targets it missed.

Pure: the shell passes the ticket's times and stores the answers. Due dates count
business time on the SLA's calendar, else the ticket's team's calendar, else
around the clock, from the ticket's creation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from config.calendars import Calendar
from config.rules import PRIORITIES, RulesDocument
from config.sla import Sla, SlaTarget, format_duration
from config.statuses import RESOLVED
from router.business_hours import add_business_time

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"


@dataclass(frozen=True, slots=True)
class DueDates:
    """When the first answer and the resolution are due (None: no target), and why."""

    first_response: datetime | None
    resolution: datetime | None
    why: str


@dataclass(frozen=True, slots=True)
class SlaClock:
    """A ticket's SLA times as stored: what is due and what has happened."""

    status: str
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class Breach:
    """One missed target: ``kind`` is ``first_response`` or ``resolution``."""

    kind: str
    due_at: datetime


def target_for(sla: Sla, priority: str, tier: str | None) -> SlaTarget | None:
    """The most specific target: priority and tier, else priority alone, else none."""
    general = None
    for target in sla.targets:
        if target.priority != priority:
            continue
        if target.tier is not None and target.tier == tier:
            return target
        if target.tier is None and general is None:
            general = target
    return general


def clock_calendar(rules: RulesDocument, team: str | None) -> Calendar | None:
    """The calendar the clock counts in: the SLA's, else the team's, else None (24x7)."""
    name = rules.sla.calendar
    if name is None and team is not None and team in rules.teams:
        name = rules.teams[team].calendar
    return rules.calendars.get(name) if name is not None else None


def due_dates(
    rules: RulesDocument, priority: str, tier: str | None, team: str | None, created_at: datetime
) -> DueDates:
    """When a ticket of ``priority`` and ``tier`` on ``team``, created at ``created_at``, is due."""
    target = target_for(rules.sla, priority, tier)
    if target is None:
        return DueDates(None, None, f"no SLA target for priority {priority}")
    calendar = clock_calendar(rules, team)
    first = resolution = None
    parts = []
    if target.first_response is not None:
        first = add_business_time(calendar, created_at, target.first_response)
        parts.append(f"first response {format_duration(target.first_response)}")
    if target.resolution is not None:
        resolution = add_business_time(calendar, created_at, target.resolution)
        parts.append(f"resolution {format_duration(target.resolution)}")
    which = f"priority {priority}" + (f", tier {target.tier}" if target.tier else "")
    hours = f"{calendar.timezone} business hours" if calendar is not None else "around the clock"
    return DueDates(first, resolution, f"{which}: {', '.join(parts)}, {hours}")


def breaches(clock: SlaClock, now: datetime) -> tuple[Breach, ...]:
    """The targets ``clock`` has missed by ``now``: due, passed, and not met yet.

    A resolved ticket (``resolved_at`` set, or solved or closed) misses nothing more.
    """
    if clock.resolved_at is not None or clock.status in RESOLVED:
        return ()
    found = []
    if (
        clock.first_response_due_at is not None
        and clock.first_responded_at is None
        and clock.first_response_due_at <= now
    ):
        found.append(Breach(FIRST_RESPONSE, clock.first_response_due_at))
    if clock.resolution_due_at is not None and clock.resolution_due_at <= now:
        found.append(Breach(RESOLUTION, clock.resolution_due_at))
    return tuple(found)


def bumped(priority: str) -> str:
    """One priority level up; ``critical`` stays."""
    index = PRIORITIES.index(priority) if priority in PRIORITIES else 0
    return PRIORITIES[min(index + 1, len(PRIORITIES) - 1)]

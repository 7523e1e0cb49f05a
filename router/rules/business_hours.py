"""Whether the message arrived inside or outside a calendar's business hours.

The arrival time (``TicketFacts.received_at``) decides, not the time triage runs,
so replaying a decision later gives the same answer.
"""

from __future__ import annotations

from config.rules import When
from router.business_hours import is_open, local_time
from router.rules.base import Context, Hit, Miss


class BusinessHoursCondition:
    """``business_hours: berlin`` (arrived while open), ``after_hours: berlin`` (closed);
    both may be given, with two calendars."""

    name = "business-hours"
    description = "the message arrived inside (or outside) a calendar's business hours"

    def applies(self, when: When) -> bool:
        return when.business_hours is not None or when.after_hours is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        reasons = []
        for name, wanted in ((when.business_hours, True), (when.after_hours, False)):
            if name is None:
                continue
            calendar = ctx.calendars.get(name)
            at = ctx.facts.received_at
            if calendar is None:
                return Miss(f"no calendar {name!r}")
            if at is None:
                return Miss("arrival time unknown")
            opened = is_open(calendar, at)
            state = "inside" if opened else "outside"
            reason = f"arrived {local_time(calendar, at)}, {state} {name} business hours"
            if opened != wanted:
                return Miss(reason)
            reasons.append(reason)
        return Hit(" and ".join(reasons))

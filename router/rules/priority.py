"""The priority decided by the prioritize stage (for routes)."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


class PriorityCondition:
    """``priority: [high, critical]``."""

    name = "priority"
    description = "the ticket's priority is one of the listed ones"

    def applies(self, when: When) -> bool:
        return when.priority is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        if ctx.priority in (when.priority or ()):
            return Hit(f"priority {ctx.priority}")
        return Miss(f"priority {ctx.priority} not in {listed(when.priority or ())}")

"""Keep the priority an SLA escalation raised when a ticket is decided again.

The sweep (``workers/sla/sweep.py``) records each bump among a breach's actions as
``priority <old> -> <new>``. When the rules change and triage runs again, the new
decision may not put the ticket below the highest such ``<new>``: a missed target
stays escalated. The decision's final priority entry says so, so the stored trace
and ``omniroute replay`` explain the kept value.

Pure: the shell reads the breaches' actions and passes them in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from router.engine import FINAL
from router.types import PRIORITIES, Decision, TraceEntry, at_least

_BUMP = re.compile(r"priority (\w+) -> (\w+)\Z")


def escalated_priority(actions: Iterable[str]) -> str | None:
    """The highest priority an escalation raised a ticket to, per its breaches' actions."""
    found = None
    for action in actions:
        match = _BUMP.match(action)
        if match is None or match.group(2) not in PRIORITIES:
            continue
        found = match.group(2) if found is None else at_least(found, match.group(2))
    return found


def keep_escalated(decision: Decision, floor: str | None) -> Decision:
    """``decision`` with its priority at least ``floor`` (the escalated priority, if any)."""
    if floor is None or at_least(decision.priority, floor) == decision.priority:
        return decision
    kept = f"{floor}, kept from an SLA escalation; the rules gave"
    trace = tuple(
        replace(entry, reason=f"{kept} {entry.reason}")
        if (entry.stage, entry.rule) == (FINAL, "priority")
        else entry
        for entry in decision.trace
    )
    if trace == decision.trace:
        trace = (*trace, TraceEntry(FINAL, "priority", True, f"{kept} {decision.priority}"))
    return replace(decision, priority=floor, trace=trace)

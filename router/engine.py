"""The rules engine: facts and a rule set in, a ``Decision`` with its trace out.

Pure: no I/O, no clock, no randomness; the same facts and rules always give the
same decision, so a rule change can be replayed over stored tickets.
"""

from __future__ import annotations

from dataclasses import replace

from config.rules import RuleSet
from router.categorize import categorize
from router.prioritize import prioritize
from router.route import choose_route
from router.rules import Context
from router.types import Decision, TicketFacts, TraceEntry

FINAL = "decision"


def decide(facts: TicketFacts, rules: RuleSet) -> Decision:
    """Categorize, prioritize and route one ticket; the trace lists every rule considered."""
    ctx = Context.of(facts)
    category = categorize(rules.categorize, ctx)
    ctx = replace(ctx, category=category.value)
    priority = prioritize(rules.prioritize, ctx)
    ctx = replace(ctx, priority=priority.value)
    routed = choose_route(rules.routes, ctx)
    route = routed.route
    targets = ", ".join(route.destinations) or "no destinations"
    final = (
        TraceEntry(FINAL, "category", True, f"{category.value}, {category.why}"),
        TraceEntry(FINAL, "priority", True, f"{priority.value}, {priority.why}"),
        TraceEntry(FINAL, "route", True, f"team {route.team}, {targets}, route {route.name!r}"),
    )
    return Decision(
        category=category.value,
        priority=priority.value,
        team=route.team,
        destinations=route.destinations,
        trace=(*category.trace, *priority.trace, *routed.trace, *final),
        rules_version=rules.version,
    )

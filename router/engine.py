"""The rules engine: facts and a rule set in, a ``Decision`` with its trace out.

Pure: no I/O, no clock, no randomness; the same facts and rules always give the
same decision, so a rule change can be replayed over stored tickets.
"""

from __future__ import annotations

from config.rules import RuleSet
from router.categorize import categorize
from router.match import add_tags
from router.prioritize import prioritize
from router.route import choose_route
from router.rules import Context
from router.tier import customer_tier
from router.types import Decision, TicketFacts, TraceEntry

FINAL = "decision"


def decide(facts: TicketFacts, rules: RuleSet) -> Decision:
    """Categorize, prioritize and route one ticket; the trace lists every rule considered."""
    tier, tier_entry = customer_tier(facts, rules.tiers, rules.prioritize.vip)
    ctx = Context.of(facts, tier=tier)
    category = categorize(rules.categorize, ctx)
    ctx = ctx.with_decided(category=category.value)
    priority = prioritize(rules.prioritize, ctx)
    ctx = ctx.with_decided(priority=priority.value)
    routed = choose_route(rules.routes, ctx, rules.route_match)
    tags: list[str] = []
    for found in (category.tags, priority.tags, routed.tags):
        add_tags(tags, found)
    targets = ", ".join(routed.destinations) or "no destinations"
    final = (
        TraceEntry(FINAL, "category", True, f"{category.value}, {category.why}"),
        TraceEntry(FINAL, "priority", True, f"{priority.value}, {priority.why}"),
        TraceEntry(
            FINAL,
            "route",
            True,
            f"team {routed.team}, {targets}, route {', '.join(map(repr, routed.routes))}",
        ),
    )
    return Decision(
        category=category.value,
        priority=priority.value,
        team=routed.team,
        destinations=routed.destinations,
        trace=(tier_entry, *category.trace, *priority.trace, *routed.trace, *final),
        rules_version=rules.version,
        tags=tuple(tags),
        tier=tier,
        language=facts.language,
        priority_score=priority.score,
    )

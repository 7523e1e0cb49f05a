"""The rules engine: facts and a rule set in, a ``Decision`` with its trace out.

Pure: no I/O, no clock, no randomness; the same facts and rules always give the
same decision, so a rule change can be replayed over stored tickets.
"""

from __future__ import annotations

from datetime import datetime

from config.rules import RuleSet
from router.assign import assign
from router.categorize import categorize
from router.classifier.types import CategoryClassifier
from router.match import add_tags
from router.prioritize import prioritize
from router.route import choose_route
from router.rules import Context
from router.tier import customer_tier
from router.types import Decision, RoutingState, TicketFacts, TraceEntry

FINAL = "decision"


def decide(
    facts: TicketFacts,
    rules: RuleSet,
    state: RoutingState | None = None,
    now: datetime | None = None,
    classifier: CategoryClassifier | None = None,
) -> Decision:
    """Categorize, prioritize, route and assign one ticket; the trace lists every rule considered.

    ``state`` is what assignment needs from the store (loads, cursors, the current
    assignee); ``now`` is when availability is judged, the message's arrival by default;
    ``classifier`` is the model loaded for ``categorize.classifier`` (asked only when no
    category rule matched).
    """
    tier, tier_entry = customer_tier(facts, rules.tiers, rules.prioritize.vip)
    ctx = Context.of(facts, tier=tier, calendars=rules.calendars)
    category = categorize(rules.categorize, ctx, classifier)
    ctx = ctx.with_decided(category=category.value)
    priority = prioritize(rules.prioritize, ctx)
    ctx = ctx.with_decided(priority=priority.value)
    routed = choose_route(rules.routes, ctx, rules.route_match)
    tags: list[str] = []
    for found in (category.tags, priority.tags, routed.tags):
        add_tags(tags, found)
    assignment = assign(
        rules,
        routed.team,
        category=category.value,
        language=facts.language,
        tier=tier,
        at=now or facts.received_at,
        state=state or RoutingState(),
        strategy=routed.assign,
    )
    targets = ", ".join(routed.destinations) or "no destinations"
    final: tuple[TraceEntry, ...] = (
        TraceEntry(FINAL, "category", True, f"{category.value}, {category.why}"),
        TraceEntry(FINAL, "priority", True, f"{priority.value}, {priority.why}"),
        TraceEntry(
            FINAL,
            "route",
            True,
            f"team {routed.team}, {targets}, route {', '.join(map(repr, routed.routes))}",
        ),
    )
    if assignment.trace:
        assigned = assignment.assignee or "unassigned"
        why = f"{assigned}, team {assignment.team}, {assignment.strategy}"
        final = (*final, TraceEntry(FINAL, "assignee", assignment.assignee is not None, why))
    return Decision(
        category=category.value,
        priority=priority.value,
        team=assignment.team,
        destinations=routed.destinations,
        trace=(
            tier_entry,
            *category.trace,
            *priority.trace,
            *routed.trace,
            *assignment.trace,
            *final,
        ),
        rules_version=rules.version,
        tags=tuple(tags),
        tier=tier,
        language=facts.language,
        priority_score=priority.score,
        assignee=assignment.assignee,
        assignment=assignment,
        category_source=category.source,
    )

"""Prioritize: the most urgent matching rule wins, then VIP senders raise it."""

from __future__ import annotations

from config.rules import PRIORITIES, PrioritizeStage, PriorityRule
from router.match import StageResult, entry, evaluate
from router.rules import Context, Hit
from router.rules.vip_sender import check_vip
from router.types import TraceEntry

STAGE = "priority"


def prioritize(stage: PrioritizeStage, ctx: Context) -> StageResult:
    """The priority for the ticket in ``ctx``; every rule is evaluated and traced."""
    trace: list[TraceEntry] = []
    hits: list[PriorityRule] = []
    for rule in stage.rules:
        verdict = evaluate(rule.when, ctx)
        trace.append(entry(STAGE, rule.name, verdict))
        if isinstance(verdict, Hit):
            hits.append(rule)
    if hits:
        best = max(
            hits, key=lambda rule: PRIORITIES.index(rule.priority)
        )  # first of the most urgent
        priority, why = best.priority, f"from rule {best.name!r}"
    else:
        priority, why = stage.default, "the default: no rule matched"

    vip = check_vip(stage.vip, ctx)
    if isinstance(vip, Hit):
        if PRIORITIES.index(stage.vip.priority) > PRIORITIES.index(priority):
            priority, why = stage.vip.priority, "raised for a VIP sender"
            vip = Hit(f"{vip.reason}: priority raised to {priority}")
        else:
            vip = Hit(f"{vip.reason}: priority already {priority}")
    trace.append(entry(STAGE, "vip-sender", vip))
    return StageResult(priority, why, tuple(trace))

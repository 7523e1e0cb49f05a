"""Categorize: the first matching category rule decides, else the default."""

from __future__ import annotations

from config.rules import CategorizeStage
from router.match import StageResult, entry, evaluate, skipped
from router.rules import Context, Hit
from router.types import TraceEntry

STAGE = "category"


def categorize(stage: CategorizeStage, ctx: Context) -> StageResult:
    """The category for the ticket in ``ctx``, with every rule considered in the trace."""
    trace: list[TraceEntry] = []
    winner = None
    for rule in stage.rules:
        if winner is not None:
            trace.append(skipped(STAGE, rule.name, winner.name))
            continue
        verdict = evaluate(rule.when, ctx)
        trace.append(entry(STAGE, rule.name, verdict))
        if isinstance(verdict, Hit):
            winner = rule
    if winner is None:
        return StageResult(stage.default, "the default: no rule matched", tuple(trace))
    return StageResult(winner.category, f"from rule {winner.name!r}", tuple(trace))

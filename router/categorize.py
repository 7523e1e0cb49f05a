"""Categorize: rules in order, ``first`` match decides or ``all`` matches apply in turn."""

from __future__ import annotations

from config.rules import CategorizeStage, CategoryRule
from router.match import StageResult, add_tags, entry, evaluate, skipped
from router.rules import Context, Hit
from router.types import TraceEntry

STAGE = "category"


def categorize(stage: CategorizeStage, ctx: Context) -> StageResult:
    """The category for the ticket in ``ctx``, with every rule considered in the trace."""
    trace: list[TraceEntry] = []
    tags: list[str] = []
    decided: CategoryRule | None = None
    stopped_by: str | None = None
    for rule in stage.rules:
        if stopped_by is not None:
            trace.append(skipped(STAGE, rule.name, stopped_by, stop=stage.match == "all"))
            continue
        verdict = evaluate(rule.when, ctx)
        trace.append(entry(STAGE, rule.name, verdict))
        if not isinstance(verdict, Hit):
            continue
        add_tags(tags, rule.tags)
        if rule.category is not None:
            decided = rule
        if stage.match == "first" or rule.stop:
            stopped_by = rule.name
    if decided is None or decided.category is None:
        return StageResult(stage.default, "the default: no rule matched", tuple(trace), tuple(tags))
    return StageResult(decided.category, f"from rule {decided.name!r}", tuple(trace), tuple(tags))

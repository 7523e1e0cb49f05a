"""Categorize: rules in order, ``first`` match decides or ``all`` matches apply in turn.

When no rule sets a category, the learned model decides if configured and confident
enough (``router.categorize_model``); explicit rules always win.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.rules import CategorizeStage, CategoryRule
from router.categorize_model import MODEL_RULE, CategorySource, consult
from router.classifier.types import CategoryClassifier
from router.match import StageResult, add_tags, entry, evaluate, skipped
from router.rules import Context, Hit
from router.types import TraceEntry

STAGE = "category"


@dataclass(frozen=True, slots=True)
class CategoryResult(StageResult):
    """A stage result that also says what set the category."""

    source: CategorySource = "rule"


def categorize(
    stage: CategorizeStage, ctx: Context, classifier: CategoryClassifier | None = None
) -> CategoryResult:
    """The category for the ticket in ``ctx``, with every rule considered in the trace.

    ``classifier`` is the loaded model for ``stage.classifier``; it is asked only when
    no rule set a category.
    """
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
        model = consult(stage.classifier, stage.default, ctx, classifier)
        if model.reason is not None:
            trace.append(TraceEntry(STAGE, MODEL_RULE, model.matched, model.reason))
        return CategoryResult(
            model.value, model.why, tuple(trace), tuple(tags), source=model.source
        )
    return CategoryResult(
        decided.category, f"from rule {decided.name!r}", tuple(trace), tuple(tags)
    )

"""When no category rule matched: the learned model decides if it is confident enough.

Explicit rules always win; this runs only when none of them set a category. With
``categorize.classifier`` configured, the model's best label is taken at or above the
threshold; below it (or with no model loaded) the configured fallback applies, else
the stage's default. Without it, a model the shell loaded (the shipped one) decides
with the default threshold, and no model means the default as before. The verdict
says which, and why, for the decision's trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from config.classifier import IMPLICIT, NO_MODEL, ClassifierConfig
from router.classifier.types import CategoryClassifier, Prediction
from router.rules import Context

CategorySource = Literal["rule", "model", "fallback", "default"]
MODEL_RULE = "category-model"  # the model's entry in the trace


@dataclass(frozen=True, slots=True)
class ModelVerdict:
    """The category when no rule decided, its source, and the model's trace entry if asked."""

    value: str
    why: str
    source: CategorySource
    matched: bool = False
    reason: str | None = None  # None: the model was not consulted


def consult(
    config: ClassifierConfig | None,
    default: str,
    ctx: Context,
    classifier: CategoryClassifier | None,
) -> ModelVerdict:
    """The category for a ticket no rule categorized; asks ``classifier`` when configured."""
    if config is None and classifier is not None:
        config = IMPLICIT
    if config is None:
        return ModelVerdict(default, "the default: no rule matched", "default")
    if config.model == NO_MODEL:
        if config.fallback:
            return ModelVerdict(config.fallback, "the fallback: no rule matched", "fallback")
        return ModelVerdict(default, "the default: no rule matched", "default")
    fallback: str = config.fallback or default
    source: CategorySource = "fallback" if config.fallback else "default"
    if classifier is None:
        why = f"the {source}: no rule matched and no model is loaded"
        return ModelVerdict(fallback, why, source, reason=f"no model loaded; {source} {fallback}")
    prediction = classifier.predict(ctx.subject, ctx.body)
    threshold = config.threshold
    said = _said(prediction)
    if prediction.confidence >= threshold:
        why = f"from the model ({prediction.label} {prediction.confidence:.3f} >= {threshold:g})"
        reason = f"{said} >= threshold {threshold:g}{_others(prediction)}"
        return ModelVerdict(prediction.label, why, "model", True, reason)
    why = (
        f"the {source}: the model was unsure "
        f"({prediction.label} {prediction.confidence:.3f} < {threshold:g})"
    )
    reason = f"{said} < threshold {threshold:g}{_others(prediction)}; {source} {fallback}"
    return ModelVerdict(fallback, why, source, False, reason)


def _said(prediction: Prediction) -> str:
    model = f"model {prediction.model}" if prediction.model else "model"
    return f"{model} says {prediction.label} at {prediction.confidence:.3f}"


def _others(prediction: Prediction) -> str:
    others = ", ".join(f"{score.label} {score.score:.3f}" for score in prediction.scores[1:])
    return f" (then {others})" if others else ""

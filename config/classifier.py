"""``categorize.classifier``: the learned model that categorizes when no rule matched.

    categorize:
      classifier:
        model: models/categories.skops   # relative to the rules file
        threshold: 0.6                   # the model decides at or above this confidence
        fallback: general                # below it; the stage's default when left out

Explicit rules always win. The artifact is read and checked by the process that
loads the rules (``workers.triage.classifier_loader``); here it is only a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints

from config.rule_fields import Strict

DEFAULT_THRESHOLD = 0.6


class ClassifierConfig(Strict):
    """Where the category model is and how sure it must be to decide."""

    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] = DEFAULT_THRESHOLD
    fallback: str | None = None


def model_path(config: ClassifierConfig, rules_source: str) -> Path:
    """The artifact's path: absolute as written, else relative to the rules file's folder."""
    path = Path(config.model).expanduser()
    if path.is_absolute():
        return path
    return Path(rules_source).parent / path

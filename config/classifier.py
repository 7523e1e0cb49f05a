"""``categorize.classifier``: the learned model that categorizes when no rule matched.

    categorize:
      classifier:
        model: models/categories.skops   # relative to the rules file; or `builtin`
        threshold: 0.6                   # the model decides at or above this confidence
        fallback: general                # below it; the stage's default when left out

``model: builtin`` is the model shipped with omniroute (``config/default_model.skops``,
built by ``tests/fixtures/tickets/build_default_model.py``); ``model: none`` turns the model off.
A rules file without ``classifier:`` uses the shipped model with the default threshold
when its categories take in every label the model gives, and no model otherwise.

Explicit rules always win. The artifact is read and checked by the process that
loads the rules (``workers.triage.classifier_loader``); here it is only a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints

from config.rule_fields import Strict

DEFAULT_THRESHOLD = 0.6
BUILTIN = "builtin"  # the model shipped with omniroute
NO_MODEL = "none"  # no model: the fallback (or the default) when no rule matched
BUILTIN_MODEL = Path(__file__).resolve().parent / "default_model.skops"
# Its training rows (text, label, language; see tests/fixtures/tickets/SOURCE.md for
# their sources and licenses): a retrain learns from them and the corrected tickets.
BUILTIN_TRAINING = Path(__file__).resolve().parent / "default_training.csv"


class ClassifierConfig(Strict):
    """Where the category model is and how sure it must be to decide."""

    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] = DEFAULT_THRESHOLD
    fallback: str | None = None


IMPLICIT = ClassifierConfig(model=BUILTIN)  # what a rules file without ``classifier:`` gets


def model_path(config: ClassifierConfig, rules_source: str) -> Path | None:
    """The artifact's path: the shipped model for ``builtin``, None for ``none``, else
    absolute as written or relative to the rules file's folder."""
    if config.model == NO_MODEL:
        return None
    if config.model == BUILTIN:
        return BUILTIN_MODEL
    path = Path(config.model).expanduser()
    if path.is_absolute():
        return path
    return Path(rules_source).parent / path

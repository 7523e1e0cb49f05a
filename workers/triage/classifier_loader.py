"""Read the category model named by the rules file, at start and on every reload.

The artifact is checked by ``router.classifier.artifact`` (digest, format, trusted
types: nothing is unpickled) and its labels against the rules' ``categories``. Any
problem is a ``ClassifierLoadError`` naming the rules file, the key and the model file,
so a bad model stops a process at start and keeps the old rules on reload, like any
other error in the rules file.

Rules that name no model get the shipped one (``config.classifier.BUILTIN_MODEL``),
read once per process, when their categories take in all of its labels; rules with
categories of their own then run without a model, and the log says so once.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from config.classifier import BUILTIN, BUILTIN_MODEL, model_path
from config.errors import ConfigError
from config.rules import RuleSet

if TYPE_CHECKING:  # scikit-learn is imported when a model is read, not before
    from router.classifier.model import CategoryModel

KEY = "categorize.classifier.model"
log = logging.getLogger(__name__)


class ClassifierLoadError(ConfigError):
    """The configured category model cannot be used; ``str()`` says where and why."""


def read_model(path: Path) -> CategoryModel:
    """The model in the artifact at ``path``; raises ``ClassifierLoadError``."""
    from router.classifier.artifact import MAX_ARTIFACT_BYTES, load_artifact
    from router.classifier.errors import ArtifactError

    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ARTIFACT_BYTES + 1)
    except OSError as exc:
        raise ClassifierLoadError(f"cannot read model {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_ARTIFACT_BYTES:
        raise ClassifierLoadError(f"model {path} is over {MAX_ARTIFACT_BYTES} bytes")
    try:
        return load_artifact(data)
    except ArtifactError as exc:
        raise ClassifierLoadError(f"model {path} refused: {exc}") from None


@cache
def builtin_model() -> CategoryModel:
    """The model shipped with omniroute, read and checked once per process."""
    return read_model(BUILTIN_MODEL)


def load_classifier(rules: RuleSet) -> CategoryModel | None:
    """The model ``rules`` configure, checked against its categories; None when none is.

    Without ``categorize.classifier`` the shipped model, if its labels are categories
    of ``rules``."""
    config = rules.categorize.classifier
    if config is None:
        return _implicit(rules)
    path = model_path(config, rules.source)
    if path is None:
        return None
    try:
        model = builtin_model() if config.model == BUILTIN else read_model(path)
    except ClassifierLoadError as exc:
        raise ClassifierLoadError(f"{rules.source}: {KEY}: {exc}") from None
    unknown = [label for label in model.labels if label not in rules.categories]
    if unknown:
        raise ClassifierLoadError(
            f"{rules.source}: {KEY}: model {path} gives categories the rules do not have: "
            f"{', '.join(unknown)} (categories: {', '.join(rules.categories)})"
        )
    return model


def _implicit(rules: RuleSet) -> CategoryModel | None:
    model = builtin_model()
    unknown = [label for label in model.labels if label not in rules.categories]
    if unknown:
        _log_skipped(rules.source, tuple(unknown))
        return None
    return model


@cache
def _log_skipped(source: str, unknown: tuple[str, ...]) -> None:
    log.info(
        "%s names no category model and lacks categories the shipped model gives (%s); "
        "categorizing by rules only (set categorize.classifier.model: none to say so)",
        source,
        ", ".join(unknown),
    )

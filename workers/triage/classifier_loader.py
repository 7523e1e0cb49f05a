"""Read the category model named by the rules file, at start and on every reload.

The artifact is checked by ``router.classifier.artifact`` (digest, format, trusted
types: nothing is unpickled) and its labels against the rules' ``categories``. Any
problem is a ``ClassifierLoadError`` naming the rules file, the key and the model file,
so a bad model stops a process at start and keeps the old rules on reload, like any
other error in the rules file.
"""

from __future__ import annotations

from pathlib import Path

from config.classifier import model_path
from config.errors import ConfigError
from config.rules import RuleSet
from router.classifier.artifact import MAX_ARTIFACT_BYTES, load_artifact
from router.classifier.errors import ArtifactError
from router.classifier.model import CategoryModel

KEY = "categorize.classifier.model"


class ClassifierLoadError(ConfigError):
    """The configured category model cannot be used; ``str()`` says where and why."""


def read_model(path: Path) -> CategoryModel:
    """The model in the artifact at ``path``; raises ``ClassifierLoadError``."""
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


def load_classifier(rules: RuleSet) -> CategoryModel | None:
    """The model ``rules`` configure, checked against its categories; None when none is."""
    config = rules.categorize.classifier
    if config is None:
        return None
    path = model_path(config, rules.source)
    try:
        model = read_model(path)
    except ClassifierLoadError as exc:
        raise ClassifierLoadError(f"{rules.source}: {KEY}: {exc}") from None
    unknown = [label for label in model.labels if label not in rules.categories]
    if unknown:
        raise ClassifierLoadError(
            f"{rules.source}: {KEY}: model {path} gives categories the rules do not have: "
            f"{', '.join(unknown)} (categories: {', '.join(rules.categories)})"
        )
    return model

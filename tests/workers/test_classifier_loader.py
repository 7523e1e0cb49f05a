"""Loading the model the rules file names: relative to the file, checked, clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from config.classifier import model_path
from config.errors import ConfigError
from config.rules import load_rules
from tests.classifier_support import artifact_bytes
from workers.triage.classifier_loader import ClassifierLoadError, load_classifier

RULES = """
format: 1
categories: [%(categories)s]
categorize:
  default: general
  classifier: {model: %(model)s, threshold: 0.6, fallback: general}
routes:
  - name: default
    team: support
"""
ALL = "technical, billing, account, general, feature_request, complaint, system"


def write_rules(folder: Path, model: str, categories: str = ALL) -> Path:
    path = folder / "rules.yaml"
    path.write_text(RULES % {"model": model, "categories": categories}, encoding="utf-8")
    return path


def test_the_model_path_is_relative_to_the_rules_file(tmp_path: Path) -> None:
    # Given a rules file naming models/categories.skops, with the artifact beside it
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "categories.skops").write_bytes(artifact_bytes())
    rules = load_rules(write_rules(tmp_path, "models/categories.skops"))
    # When the classifier is loaded (from another working directory)
    model = load_classifier(rules)
    # Then it is the model in that file
    assert model is not None
    assert model.labels == (
        "account",
        "billing",
        "complaint",
        "feature_request",
        "general",
        "technical",
    )
    assert rules.categorize.classifier is not None
    assert model_path(rules.categorize.classifier, rules.source) == (
        tmp_path / "models" / "categories.skops"
    )


def test_no_classifier_configured_loads_nothing(tmp_path: Path) -> None:
    # Given rules without categorize.classifier
    path = tmp_path / "rules.yaml"
    path.write_text("format: 1\nroutes:\n  - name: default\n    team: support\n")
    # When the classifier is loaded
    # Then there is none
    assert load_classifier(load_rules(path)) is None


def test_a_missing_model_file_is_a_clear_config_error(tmp_path: Path) -> None:
    # Given rules naming a model file that does not exist
    rules = load_rules(write_rules(tmp_path, "nowhere.skops"))
    # When the classifier is loaded
    # Then the error is a configuration error naming the rules file, the key and the model
    with pytest.raises(ConfigError) as caught:
        load_classifier(rules)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'rules.yaml'}: categorize.classifier.model: ")
    assert f"cannot read model {tmp_path / 'nowhere.skops'}" in message


def test_an_unsafe_model_file_is_refused_at_load(tmp_path: Path) -> None:
    # Given rules naming a file that is a pickle, not an artifact
    (tmp_path / "evil.skops").write_bytes(pickle.dumps({"a": 1}))
    rules = load_rules(write_rules(tmp_path, "evil.skops"))
    # When the classifier is loaded
    # Then it is refused with the reason
    with pytest.raises(ClassifierLoadError, match="refused: not an omniroute model artifact"):
        load_classifier(rules)


def test_model_labels_must_be_rules_categories(tmp_path: Path) -> None:
    # Given rules whose categories lack one the model gives
    (tmp_path / "m.skops").write_bytes(artifact_bytes())
    rules = load_rules(write_rules(tmp_path, "m.skops", "technical, billing, account, general"))
    # When the classifier is loaded
    # Then the missing categories are named
    missing = "categories the rules do not have: complaint, feature_request "
    with pytest.raises(ClassifierLoadError, match=missing):
        load_classifier(rules)

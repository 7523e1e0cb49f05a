"""Loading the model the rules file names: relative to the file, checked, clear errors."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from config.classifier import BUILTIN_MODEL, model_path
from config.errors import ConfigError
from config.rules import load_rules
from tests.classifier_support import artifact_bytes
from workers.triage.classifier_loader import (
    ClassifierLoadError,
    builtin_model,
    load_classifier,
    read_model,
)
from workers.triage.rules_source import RulesSource

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


def test_no_classifier_configured_loads_the_shipped_model(tmp_path: Path) -> None:
    # Given rules without categorize.classifier, with the default categories
    path = tmp_path / "rules.yaml"
    path.write_text("format: 1\nroutes:\n  - name: default\n    team: support\n")
    # When the classifier is loaded
    model = load_classifier(load_rules(path))
    # Then it is the model shipped with omniroute, read from the package
    assert model is not None
    assert model is builtin_model()
    assert model.version == read_model(BUILTIN_MODEL).version
    assert set(model.labels) >= {"account", "billing", "technical", "feature_request"}


def test_model_none_turns_the_shipped_model_off(tmp_path: Path) -> None:
    # Given rules that say model: none
    path = tmp_path / "rules.yaml"
    path.write_text(
        "format: 1\ncategorize:\n  classifier: {model: none}\n"
        "routes:\n  - name: default\n    team: support\n"
    )
    # When the classifier is loaded
    # Then there is none
    assert load_classifier(load_rules(path)) is None


def test_rules_with_their_own_categories_run_without_the_shipped_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given rules without a classifier whose categories lack the shipped model's labels
    path = tmp_path / "rules.yaml"
    path.write_text(
        "format: 1\ncategories: [sales, other]\ncategorize: {default: other}\n"
        "routes:\n  - name: default\n    team: support\n"
    )
    # When the classifier is loaded
    with caplog.at_level("INFO"):
        model = load_classifier(load_rules(path))
    # Then there is none, and the log says why
    assert model is None
    assert "categorizing by rules only" in caplog.text


def test_model_builtin_names_the_shipped_model_explicitly(tmp_path: Path) -> None:
    # Given rules that name the shipped model with a threshold of their own
    path = tmp_path / "rules.yaml"
    path.write_text(
        "format: 1\ncategorize:\n  classifier: {model: builtin, threshold: 0.8}\n"
        "routes:\n  - name: default\n    team: support\n"
    )
    # When the classifier is loaded
    # Then it is the shipped model
    assert load_classifier(load_rules(path)) is builtin_model()


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


def test_processes_that_do_not_triage_never_import_scikit_learn() -> None:
    # Given a fresh interpreter that imports the CLI and builds a rules source
    code = (
        "import sys\n"
        "import workers.cli, workers.process.runtime\n"
        "from workers.triage.rules_source import RulesSource\n"
        "RulesSource(None)\n"
        "print('sklearn' in sys.modules)\n"
    )
    # When it runs
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    # Then scikit-learn was never imported: the shipped model is read on first use
    assert done.stdout.strip() == "False"


def test_the_shipped_model_is_read_on_the_first_snapshot() -> None:
    # Given a rules source on the default rules
    source = RulesSource(None)
    # When a ticket is to be triaged
    loaded = source.snapshot()
    # Then the shipped model comes with the rules
    assert loaded.classifier is builtin_model()


def test_a_role_started_with_a_rules_file_naming_no_model_does_not_import_scikit_learn(
    tmp_path: Path,
) -> None:
    # Given a rules file without categorize.classifier
    path = tmp_path / "rules.yaml"
    path.write_text("format: 1\nroutes:\n  - name: default\n    team: support\n")
    code = (
        "import sys\n"
        "from config.settings import Settings\n"
        "from workers.cli.roles import _check_rules\n"
        f"_check_rules(Settings(rules_file={str(path)!r}))\n"
        "print('sklearn' in sys.modules)\n"
    )
    # When the start-up check of a role runs on it
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    # Then the check passed without reading the shipped model
    assert done.stdout.strip() == "False"

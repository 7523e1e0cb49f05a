"""A category model scores through its fitted parts only when that gives scikit-learn's
own probabilities; any other pipeline is scored by scikit-learn."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from config.classifier import BUILTIN_MODEL
from router.classifier import fast_scores
from router.classifier.artifact import load_artifact
from router.classifier.fast_scores import LinearSigmoidScorer, fast_scorer
from router.classifier.pipeline import build_baseline
from router.classifier.text import prepare
from tests.classifier_support import TEST_CSV, TRAIN_CSV, rows, trained_model


def test_the_shipped_model_scores_every_test_text_as_scikit_learn_does() -> None:
    # Given the shipped model
    model = load_artifact(BUILTIN_MODEL.read_bytes())
    texts = [prepare(text) for text in rows(TEST_CSV)[0]]
    # Then it scores through its fitted parts
    assert isinstance(model.scores, LinearSigmoidScorer)
    # And every probability of the test split is the pipeline's own, one text at a time too
    assert np.allclose(model.scores(texts), model.pipeline.predict_proba(texts), rtol=0, atol=1e-9)
    for text in texts[:25]:
        assert np.array_equal(model.scores([text]), model.pipeline.predict_proba([text]))


def test_a_freshly_trained_model_scores_through_its_parts_with_the_same_predictions() -> None:
    # Given a model trained here, and test texts
    model = trained_model()
    texts = list(rows(TEST_CSV)[0][:60])
    assert isinstance(model.scores, LinearSigmoidScorer)
    # Then each prediction is scikit-learn's best class at scikit-learn's probability
    expected = model.pipeline.predict_proba([prepare(text) for text in texts])
    classes = list(model.pipeline.classes_)
    for prediction, row in zip(model.predict_texts(texts), expected, strict=True):
        assert prediction.label == classes[int(row.argmax())]
        assert prediction.confidence == float(row.max())


def test_a_pipeline_of_another_shape_is_scored_by_scikit_learn() -> None:
    # Given the baseline (words and logistic regression, no calibration), fitted
    texts, labels = rows(TRAIN_CSV)
    baseline = build_baseline().fit(list(texts), list(labels))
    # Then no scorer stands in for it
    assert fast_scorer(baseline) is None


def test_weighted_features_or_an_ensemble_are_scored_by_scikit_learn() -> None:
    texts, labels = rows(TRAIN_CSV)

    def fitted(weights: dict[str, float] | None, ensemble: bool) -> Pipeline:
        features = FeatureUnion(
            [("words", TfidfVectorizer()), ("chars", TfidfVectorizer(analyzer="char_wb"))],
            transformer_weights=weights,
        )
        calibrated = CalibratedClassifierCV(LinearSVC(), method="sigmoid", cv=2, ensemble=ensemble)
        return Pipeline([("features", features), ("classify", calibrated)]).fit(
            list(texts[:300]), list(labels[:300])
        )

    assert fast_scorer(fitted({"words": 2.0, "chars": 1.0}, ensemble=False)) is None
    assert fast_scorer(fitted(None, ensemble=True)) is None
    assert isinstance(fast_scorer(fitted(None, ensemble=False)), LinearSigmoidScorer)


def test_a_scorer_that_disagrees_with_the_pipeline_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given fitted parts that no longer give the pipeline's probabilities (calibration
    # read wrong, as a change in scikit-learn's could make it)
    pipeline = trained_model().pipeline
    parts = fast_scores._parts(pipeline)
    assert parts is not None
    wrong = replace(parts, slopes=parts.slopes * 2)
    monkeypatch.setattr(fast_scores, "_parts", lambda _: wrong)
    # Then they are refused, and scikit-learn scores the model
    assert fast_scorer(pipeline) is None

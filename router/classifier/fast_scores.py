"""Class probabilities of omniroute's pipeline shape without scikit-learn's per-call checks.

``Pipeline.predict_proba`` on one ticket spends more than half its time validating its
input: about fifteen ``check_array`` calls, through the feature union, the linear model
and each class's sigmoid calibrator, each asking whether the input is a data frame of
some library. For the shape ``build_pipeline`` makes (a ``FeatureUnion`` of
vectorizers, then ``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` over a
linear model), the same numbers come straight from the fitted parts: the vectorizers'
``transform``, one sparse product with the model's coefficients, each class's sigmoid,
and the normalization calibration does. A scorer is used only after it gave the
pipeline's own probabilities on probe texts; any other shape, or any difference, keeps
``predict_proba``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import FeatureUnion, Pipeline

log = logging.getLogger(__name__)

Scorer = Callable[[Sequence[str]], np.ndarray]

# Texts the scorer must score exactly as the pipeline does before it is used.
PROBES = (
    "I was charged twice for my subscription, please refund",
    "Das Dashboard lädt nicht, Fehler 502 für alle Nutzer",
    "it would be great if you could add an export to PDF",
    "",
)
# Calibrated probabilities are compared with this tolerance (they are computed by the
# same floating-point operations, so in practice they are equal).
TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class LinearSigmoidScorer:
    """The fitted parts of a vectorizers → linear model → sigmoid calibration pipeline."""

    vectorizers: tuple[Any, ...]
    coefficients: np.ndarray  # (features, classes)
    intercepts: np.ndarray  # (classes,)
    slopes: np.ndarray  # the calibrators' ``a_``, one per class
    offsets: np.ndarray  # their ``b_``

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        features = sp.hstack([vectorizer.transform(texts) for vectorizer in self.vectorizers])
        margins = features.tocsr() @ self.coefficients + self.intercepts
        probabilities: np.ndarray = expit(-(self.slopes * margins + self.offsets))
        # As calibration normalizes several classes: rows summing to 0 become uniform,
        # and values a rounding above 1 are 1.
        totals = probabilities.sum(axis=1, keepdims=True)
        uniform = np.full_like(probabilities, 1 / probabilities.shape[1])
        probabilities = np.divide(probabilities, totals, out=uniform, where=totals != 0)
        probabilities[(probabilities > 1.0) & (probabilities <= 1.0 + 1e-5)] = 1.0
        return probabilities


def fast_scorer(pipeline: Pipeline) -> Scorer | None:
    """A scorer giving ``pipeline.predict_proba``'s numbers, or None when it cannot."""
    scorer = _parts(pipeline)
    if scorer is None:
        return None
    try:
        agrees = np.allclose(
            scorer(PROBES), pipeline.predict_proba(list(PROBES)), rtol=0, atol=TOLERANCE
        )
    except Exception:  # a part that does not behave as its type promised
        log.warning("the category model is scored through scikit-learn", exc_info=True)
        return None
    return scorer if agrees else None


def _parts(pipeline: Pipeline) -> LinearSigmoidScorer | None:
    if len(pipeline.steps) != 2:
        return None
    (_, features), (_, classify) = pipeline.steps
    if not isinstance(features, FeatureUnion) or features.transformer_weights is not None:
        return None
    vectorizers = tuple(part for _, part in features.transformer_list)
    if any(isinstance(part, str) for part in vectorizers):  # "drop" or "passthrough"
        return None
    if not isinstance(classify, CalibratedClassifierCV) or classify.method != "sigmoid":
        return None
    fitted = getattr(classify, "calibrated_classifiers_", [])
    if len(fitted) != 1:  # ensemble=True averages several
        return None
    calibrated = fitted[0]
    classes = len(classify.classes_)
    calibrators = list(getattr(calibrated, "calibrators", []))
    model = calibrated.estimator
    coefficients = getattr(model, "coef_", None)
    intercepts = getattr(model, "intercept_", None)
    if classes < 3 or len(calibrators) != classes or coefficients is None or intercepts is None:
        return None  # two classes calibrate one margin, not one per class
    if np.shape(coefficients)[0] != classes or not all(
        hasattr(c, "a_") and hasattr(c, "b_") for c in calibrators
    ):
        return None
    return LinearSigmoidScorer(
        vectorizers,
        np.ascontiguousarray(np.asarray(coefficients, dtype=np.float64).T),
        np.asarray(intercepts, dtype=np.float64),
        np.array([c.a_ for c in calibrators], dtype=np.float64),
        np.array([c.b_ for c in calibrators], dtype=np.float64),
    )

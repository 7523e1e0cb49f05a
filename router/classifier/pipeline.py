"""The scikit-learn pipelines: omniroute's category model and the plain baseline.

omniroute's model reads word 1-2-grams and character 2-5-grams (within words), both
TF-IDF with sublinear term frequency, so it copes with typos, plurals and run-on words
("cancdling", "signup"). A linear SVM, its classes weighted by their rarity, separates
the categories; sigmoid calibration on cross-validated scores turns its margins into
probabilities, so a confidence threshold means what it says. The baseline is TF-IDF
words with logistic regression, defaults.

Chosen by cross-validation on the training rows alone (``bench/classifier_cv.py``; its
table, with every variant tried, is in ``bench/README.md``): none of the other feature
ranges, C values or linear models tried beats it by more than the spread between
shuffles.

``TRUSTED_TYPES`` are the only types an artifact may name beyond those skops trusts
by default (scikit-learn estimators, NumPy and SciPy arrays, builtins); they are the
private helpers calibration stores. A new estimator here means a new entry there.
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)
MAX_FOLDS = 5
STEPS = ("features", "classify")


def build_pipeline(folds: int = MAX_FOLDS) -> Pipeline:
    """An unfitted omniroute model; ``folds`` cross-validation folds for calibration."""
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        min_df=2,
        sublinear_tf=True,
        strip_accents="unicode",
    )
    margin = LinearSVC(C=0.5, class_weight="balanced", max_iter=10_000, random_state=0)
    return Pipeline(
        [
            ("features", FeatureUnion([("words", words), ("chars", chars)])),
            (
                "classify",
                CalibratedClassifierCV(margin, method="sigmoid", cv=folds, ensemble=False),
            ),
        ]
    )


def shed_introspection(pipeline: Pipeline) -> None:
    """Drop from a fitted pipeline what only introspection reads, so its bytes depend on
    the model alone: each vectorizer's ``stop_words_`` (every term ``min_df`` left out,
    a set in hash order; scikit-learn documents it as safe to remove) and its
    ``_stop_words_id`` (an ``id()``, different in every process; recomputed on use)."""
    for _, vectorizer in pipeline.named_steps["features"].transformer_list:
        for name in ("stop_words_", "_stop_words_id"):
            if hasattr(vectorizer, name):
                delattr(vectorizer, name)


def build_baseline() -> Pipeline:
    """Plain TF-IDF (words, defaults) and logistic regression, for comparison only."""
    return Pipeline(
        [
            ("features", TfidfVectorizer()),
            ("classify", LogisticRegression(max_iter=1_000)),
        ]
    )

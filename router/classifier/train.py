"""Train a category model from texts and their labels."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import sklearn

from router.classifier.errors import TrainingError
from router.classifier.model import CategoryModel
from router.classifier.pipeline import MAX_FOLDS, build_pipeline, shed_introspection
from router.classifier.text import prepare
from router.classifier.types import ModelInfo

MAX_ROWS = 1_000_000


def train(texts: Sequence[str], labels: Sequence[str], *, trained_at: datetime) -> CategoryModel:
    """A model fitted on ``texts`` (subject and body, or any message text) and ``labels``.

    Needs at least two labels and two rows of each: calibration holds rows out. Raises
    ``TrainingError`` saying which labels are short. ``trained_at`` is recorded as given.
    """
    if len(texts) != len(labels):
        raise TrainingError(f"{len(texts)} texts but {len(labels)} labels")
    if len(texts) > MAX_ROWS:
        raise TrainingError(f"{len(texts)} rows; at most {MAX_ROWS} can be trained on")
    counts = Counter(labels)
    if len(counts) < 2:
        found = ", ".join(counts) or "none"
        raise TrainingError(f"need rows of at least two labels to learn from (found: {found})")
    single = sorted(label for label, count in counts.items() if count < 2)
    if single:
        raise TrainingError(
            f"need at least two rows of each label; only one of: {', '.join(single)}"
        )
    prepared = [prepare(text) for text in texts]
    if not any(prepared):
        raise TrainingError("every text is empty")
    pipeline = build_pipeline(folds=min(MAX_FOLDS, *counts.values()))
    try:
        pipeline.fit(prepared, list(labels))
    except ValueError as exc:  # e.g. too little text to build a vocabulary
        raise TrainingError(f"cannot train on these rows: {exc}") from None
    shed_introspection(pipeline)
    info = ModelInfo(
        labels=tuple(sorted(counts)),
        trained_at=trained_at,
        training_rows=len(texts),
        label_counts=tuple(sorted(counts.items())),
        sklearn_version=sklearn.__version__,
    )
    return CategoryModel(pipeline, info)

"""``CategoryModel``: a fitted pipeline and its metadata, answering ``predict``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sklearn.pipeline import Pipeline

from router.classifier.fast_scores import Scorer, fast_scorer
from router.classifier.text import prepare, ticket_text
from router.classifier.types import LabelScore, ModelInfo, Prediction

TOP_SCORES = 3


@dataclass(frozen=True, slots=True)
class CategoryModel:
    """A trained category model. Implements ``CategoryClassifier``; safe to share between
    threads (prediction only reads the fitted pipeline)."""

    pipeline: Pipeline
    info: ModelInfo
    # The pipeline's class probabilities, without its per-call input checks when the
    # pipeline has the shape omniroute trains (``fast_scores``).
    scores: Scorer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "scores", fast_scorer(self.pipeline) or self.pipeline.predict_proba
        )

    @property
    def labels(self) -> tuple[str, ...]:
        """The categories the model can give, sorted."""
        return self.info.labels

    @property
    def version(self) -> str:
        """Short sha256 of the serialized model; empty until written as an artifact."""
        return self.info.version

    def predict(self, subject: str, body: str) -> Prediction:
        """The category of a ticket with this subject and first message."""
        return self.predict_texts([ticket_text(subject, body)])[0]

    def predict_texts(self, texts: Sequence[str]) -> list[Prediction]:
        """Predictions for whole texts (as in a training CSV), in order."""
        if not texts:
            return []
        probabilities = self.scores([prepare(text) for text in texts])
        classes = [str(label) for label in self.pipeline.classes_]
        predictions = []
        for row in probabilities:
            ranked = sorted(zip(classes, row, strict=True), key=lambda pair: -pair[1])
            scores = tuple(LabelScore(label, float(score)) for label, score in ranked)
            best = scores[0]
            predictions.append(
                Prediction(best.label, best.score, scores[:TOP_SCORES], self.version)
            )
        return predictions

"""The values the classifier takes and returns, and the protocol the engine calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LabelScore:
    """One label and the model's probability for it."""

    label: str
    score: float


@dataclass(frozen=True, slots=True)
class Prediction:
    """The model's best label, its probability, the top scores, and which model said so."""

    label: str
    confidence: float
    scores: tuple[LabelScore, ...]  # best first, at most ``TOP_SCORES``
    model: str = ""  # the model's version (a short sha256 of its bytes)


class CategoryClassifier(Protocol):
    """What the categorize stage asks of a model (``router.classifier.model.CategoryModel``)."""

    def predict(self, subject: str, body: str) -> Prediction:
        """The category the model gives a ticket with this subject and first message."""
        ...


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Metadata stored beside the model in its artifact."""

    labels: tuple[str, ...]
    trained_at: datetime
    training_rows: int
    label_counts: tuple[tuple[str, int], ...]
    sklearn_version: str
    model_sha256: str = ""  # of the serialized model; set when the artifact is written

    @property
    def version(self) -> str:
        """A short, stable name for the model: the first 12 hex digits of its sha256."""
        return self.model_sha256[:12]


@dataclass(frozen=True, slots=True)
class ClassReport:
    """Precision, recall and F1 of one label over an evaluation set."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How a model did on labelled rows; ``confusion[i][j]``: true ``labels[i]``, said ``[j]``."""

    rows: int
    accuracy: float
    macro_f1: float
    labels: tuple[str, ...]
    per_class: tuple[ClassReport, ...]
    confusion: tuple[tuple[int, ...], ...]
    unknown_labels: tuple[str, ...]  # true labels the model never predicts

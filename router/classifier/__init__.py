"""The learned category classifier: train, predict, evaluate, and a safe artifact format.

Pure like the rest of ``router/``: texts and labels in, a model out; a model and
texts in, predictions out; a model in, artifact ``bytes`` out and back. Reading and
writing files is the shell's job (``workers.triage.classifier_loader``, ``omniroute train``).

One part per module, imported where used, so that importing the engine does not
import scikit-learn:

    types       Prediction, Evaluation, ModelInfo, the CategoryClassifier protocol
    text        what the model reads: subject and body, bounded and masked
    pipeline    the scikit-learn pipelines (omniroute's and the plain baseline)
    model       CategoryModel: a fitted pipeline plus its metadata; predict()
    train       train(texts, labels) -> CategoryModel
    evaluate    evaluate(model, texts, labels) -> Evaluation
    artifact    dump_artifact(model) -> bytes, load_artifact(bytes) -> CategoryModel

Errors (``router.classifier.errors``)::

    ClassifierError
     ├── TrainingError           the rows cannot train a model (too few labels or rows)
     └── ArtifactError           the artifact cannot be loaded, nothing was unpickled
          ├── CorruptArtifact    not an artifact, bad metadata, digest mismatch
          ├── IncompatibleArtifact  another format version or scikit-learn release
          └── UnsafeArtifact     it names types outside the trusted list
"""

from __future__ import annotations

from router.classifier.errors import (
    ArtifactError,
    ClassifierError,
    CorruptArtifact,
    IncompatibleArtifact,
    TrainingError,
    UnsafeArtifact,
)
from router.classifier.types import (
    CategoryClassifier,
    ClassReport,
    Evaluation,
    LabelScore,
    ModelInfo,
    Prediction,
)

__all__ = [
    "ArtifactError",
    "CategoryClassifier",
    "ClassReport",
    "ClassifierError",
    "CorruptArtifact",
    "Evaluation",
    "IncompatibleArtifact",
    "LabelScore",
    "ModelInfo",
    "Prediction",
    "TrainingError",
    "UnsafeArtifact",
]

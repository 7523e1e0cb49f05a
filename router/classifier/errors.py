"""The classifier's errors; the tree is drawn in ``router.classifier``'s docstring."""

from __future__ import annotations


class ClassifierError(Exception):
    """Training or loading the category model failed; ``str()`` says why."""


class TrainingError(ClassifierError):
    """The rows given cannot train a model: too few, one label only, a label seen once."""


class ArtifactError(ClassifierError):
    """An artifact was refused before any of its objects were built."""


class CorruptArtifact(ArtifactError):
    """Not an omniroute model artifact, unreadable metadata, or the model bytes changed."""


class IncompatibleArtifact(ArtifactError):
    """Another artifact format version, or a scikit-learn release this one cannot load."""


class UnsafeArtifact(ArtifactError):
    """The model names types outside the trusted list; loading it could run code."""

"""The dev data set in ``tests/fixtures/tickets`` and a model trained on it, built once."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from router.classifier.artifact import dump_artifact
from router.classifier.model import CategoryModel
from router.classifier.train import train

TICKETS = Path(__file__).parent / "fixtures" / "tickets"
TRAIN_CSV = TICKETS / "train.csv"
TEST_CSV = TICKETS / "test.csv"
TRAINED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@cache
def rows(path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Texts and labels of a fixture CSV."""
    with path.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    return tuple(r["text"] for r in records), tuple(r["label"] for r in records)


@cache
def trained_model() -> CategoryModel:
    """A model trained on the training split (shared: treat it as read-only)."""
    texts, labels = rows(TRAIN_CSV)
    return train(texts, labels, trained_at=TRAINED_AT)


@cache
def artifact_bytes() -> bytes:
    """``trained_model()`` written as an artifact."""
    return dump_artifact(trained_model())

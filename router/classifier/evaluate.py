"""Evaluate a model on labelled rows: accuracy, macro-F1, per-class report, confusion."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from router.classifier.model import CategoryModel
from router.classifier.types import ClassReport, Evaluation


def evaluate(model: CategoryModel, texts: Sequence[str], labels: Sequence[str]) -> Evaluation:
    """How ``model`` labels ``texts`` against the true ``labels``.

    Labels the model was never trained on still count (always as misses) and are
    listed in ``unknown_labels``; macro-F1 averages over every label seen on either side.
    """
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise ValueError("nothing to evaluate")
    said = [prediction.label for prediction in model.predict_texts(texts)]
    truth = list(labels)
    names = tuple(sorted(set(truth) | set(model.labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, said, labels=list(names), zero_division=0
    )
    per_class = tuple(
        ClassReport(name, float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    )
    # Macro-F1 over the labels that occur in the rows or the predictions: a model label
    # absent from both would add a meaningless zero.
    present = set(truth) | set(said)
    scored = [report.f1 for report in per_class if report.label in present]
    matrix = confusion_matrix(truth, said, labels=list(names))
    return Evaluation(
        rows=len(truth),
        accuracy=float(accuracy_score(truth, said)),
        macro_f1=sum(scored) / len(scored),
        labels=names,
        per_class=per_class,
        confusion=tuple(tuple(int(cell) for cell in row) for row in matrix),
        unknown_labels=tuple(sorted(set(truth) - set(model.labels))),
    )

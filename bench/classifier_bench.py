"""Category classifier: omniroute's model against a plain TF-IDF + logistic regression.

What is compared
    (a) baseline: ``TfidfVectorizer()`` (words, defaults) and
        ``LogisticRegression(max_iter=1000)`` on the raw texts.
    (b) omniroute: ``router.classifier.train.train``: masked text, word 1-2-grams and
        character 2-5-grams, a linear SVM with sigmoid calibration.

    Both train on ``tests/fixtures/tickets/train.csv`` and are scored on the held-apart
    ``test.csv`` (see SOURCE.md there). Printed: accuracy and macro-F1 of each, the
    per-label F1, and for omniroute how much of the test split each confidence threshold
    lets the model decide and how accurate it is there (the rest goes to the fallback).

Run from the repository root:
    .venv/bin/python bench/classifier_bench.py [--train FILE] [--test FILE]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sklearn
from sklearn.metrics import accuracy_score, f1_score

from router.classifier.evaluate import evaluate
from router.classifier.pipeline import build_baseline
from router.classifier.train import train

TICKETS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tickets"
THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def read(path: Path) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--train", type=Path, default=TICKETS / "train.csv")
    parser.add_argument("--test", type=Path, default=TICKETS / "test.csv")
    args = parser.parse_args()
    train_texts, train_labels = read(args.train)
    test_texts, test_labels = read(args.test)
    print(f"python {sys.version.split()[0]}, scikit-learn {sklearn.__version__}")
    print(f"train: {len(train_texts)} rows, test: {len(test_texts)} rows, {args.test}")

    start = time.perf_counter()
    baseline = build_baseline().fit(train_texts, train_labels)
    baseline_seconds = time.perf_counter() - start
    said = baseline.predict(test_texts)
    baseline_accuracy = accuracy_score(test_labels, said)
    baseline_f1 = f1_score(test_labels, said, average="macro")
    baseline_per_label = f1_score(test_labels, said, average=None, labels=sorted(set(test_labels)))

    start = time.perf_counter()
    model = train(train_texts, train_labels, trained_at=datetime.now(UTC))
    ours_seconds = time.perf_counter() - start
    result = evaluate(model, test_texts, test_labels)

    print()
    print(f"{'model':<34} {'accuracy':>8} {'macro-F1':>8} {'train s':>8}")
    print(
        f"{'TF-IDF + LogisticRegression':<34} {baseline_accuracy:8.3f} {baseline_f1:8.3f} "
        f"{baseline_seconds:8.2f}"
    )
    print(
        f"{'omniroute (word+char, calib. SVM)':<34} {result.accuracy:8.3f} "
        f"{result.macro_f1:8.3f} {ours_seconds:8.2f}"
    )

    print()
    print(f"{'F1 per label':<16} {'baseline':>8} {'omniroute':>9}")
    ours_f1 = {report.label: report.f1 for report in result.per_class}
    for label, f1 in zip(sorted(set(test_labels)), baseline_per_label, strict=True):
        print(f"{label:<16} {f1:8.3f} {ours_f1.get(label, 0.0):9.3f}")

    predictions = model.predict_texts(test_texts)
    print()
    print("omniroute at a confidence threshold (below it: the configured fallback)")
    print(f"{'threshold':>9} {'decided':>8} {'accuracy there':>15}")
    for threshold in THRESHOLDS:
        decided = [
            (p.label, truth)
            for p, truth in zip(predictions, test_labels, strict=True)
            if p.confidence >= threshold
        ]
        share = len(decided) / len(predictions)
        right = sum(label == truth for label, truth in decided) / len(decided) if decided else 0
        print(f"{threshold:9.1f} {share:8.1%} {right:15.3f}")


if __name__ == "__main__":
    main()

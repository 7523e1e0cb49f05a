"""Category classifier and the zero-config default: the shipped model against a baseline.

What is measured
    1. The test split (``tests/fixtures/tickets/test.csv``, held apart from training):
       macro-F1 per language of (a) the shipped model (``config/default_model.skops``,
       trained on ``train.csv`` by ``build_default_model.py``) and (b) a plain baseline,
       ``TfidfVectorizer()`` and ``LogisticRegression(max_iter=1000)`` trained on the
       same ``train.csv``; their ratio (target: >= 1.1), the macro-F1 that target
       asks for, and the ratio a model without a single mistake would reach.
    2. Zero configuration on ``tests/fixtures/tickets/mails.csv`` (support mails written
       for the evaluation, in English and German, labelled with category and priority;
       none is in the training data): the whole default, that is
       ``config/default_rules.yaml`` and the shipped model behind its rules, decides
       each mail as triage would. Category accuracy and macro-F1 (target >= 0.8) and
       priority accuracy (target >= 0.7), beside plain baselines: the same rules with
       the baseline model, the rules alone, the shipped model alone, and for priority
       the constant most frequent label (medium) and a keyword baseline (an urgent
       word such as "urgent", "asap", "dringend" makes it high, else medium).
    3. How much of the test split each confidence threshold lets the model decide.
    4. The time to score one ticket, as triage does (one text at a time, over the test
       split, alternating three rounds): scikit-learn's ``predict_proba`` against the
       model's own scorer (``router/classifier/fast_scores.py``), which gives the same
       probabilities without scikit-learn's per-call input checks.

Run from the repository root:
    .venv/bin/python bench/classifier_bench.py [--mistakes]
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sklearn
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import Pipeline

from config.classifier import BUILTIN_MODEL
from config.rules import default_rules
from router.classifier.model import CategoryModel
from router.classifier.pipeline import build_baseline
from router.classifier.text import prepare, ticket_text
from router.classifier.types import CategoryClassifier, LabelScore, Prediction
from router.engine import decide
from router.types import TicketFacts
from workers.triage.classifier_loader import read_model

TICKETS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tickets"
THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
TARGET_RATIO = 1.1
# The plain keyword baseline for priority: a word that shouts urgency makes it high,
# anything else is medium (the most frequent priority of the mails).
URGENT_WORDS = re.compile(
    r"\b(urgent|asap|immediately|emergency|critical|dringend|sofort|eilt|notfall|kritisch)",
    re.IGNORECASE,
)
LANGUAGES = ("en", "de")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class Baseline:
    """The baseline pipeline behind the engine's ``CategoryClassifier`` protocol."""

    pipeline: Pipeline

    def predict(self, subject: str, body: str) -> Prediction:
        row = self.pipeline.predict_proba([ticket_text(subject, body)])[0]
        ranked = sorted(zip(self.pipeline.classes_, row, strict=True), key=lambda p: -p[1])
        scores = tuple(LabelScore(str(label), float(score)) for label, score in ranked)
        return Prediction(scores[0].label, scores[0].score, scores[:3], "baseline")


def macro_f1(truth: Sequence[str], said: Sequence[str]) -> float:
    return float(f1_score(truth, said, average="macro", labels=sorted(set(truth) | set(said))))


def test_split(model: CategoryModel, baseline: Pipeline, rows: list[dict[str, str]]) -> None:
    print(f"1. test split ({TICKETS / 'test.csv'}): macro-F1 (accuracy)")
    print(
        f"{'rows':>12} {'shipped':>15} {'baseline':>15} {'ratio':>6} "
        f"{'F1 for ' + str(TARGET_RATIO) + 'x':>11} {'ratio if perfect':>16}"
    )
    for language in (*LANGUAGES, "all"):
        part = [r for r in rows if language in (r["language"], "all")]
        texts, truth = [r["text"] for r in part], [r["label"] for r in part]
        ours = [p.label for p in model.predict_texts(texts)]
        theirs = list(baseline.predict(texts))
        f_ours, f_theirs = macro_f1(truth, ours), macro_f1(truth, theirs)
        print(
            f"{language + ' ' + str(len(part)):>12} "
            f"{f_ours:7.3f} ({accuracy_score(truth, ours):.3f}) "
            f"{f_theirs:7.3f} ({accuracy_score(truth, theirs):.3f}) {f_ours / f_theirs:6.2f} "
            f"{TARGET_RATIO * f_theirs:11.3f} {1 / f_theirs:16.2f}"
        )


def facts_of(number: int, row: dict[str, str]) -> TicketFacts:
    return TicketFacts(
        number=number,
        channel="email",
        subject=row["subject"],
        body=row["body"],
        sender_email=f"customer{number}@example.com",
        language=row["language"],
        received_at=datetime(2026, 12, 1, 10, tzinfo=UTC),
    )


def keyword_priority(row: dict[str, str]) -> str:
    """``high`` when the subject or body has an urgent word, else ``medium``."""
    return "high" if URGENT_WORDS.search(f"{row['subject']} {row['body']}") else "medium"


def zero_config(
    model: CategoryModel, baseline: Pipeline, rows: list[dict[str, str]], mistakes: bool
) -> None:
    rules = default_rules()
    setups: list[tuple[str, CategoryClassifier | None]] = [
        ("default rules + shipped model", model),
        ("default rules + baseline model", Baseline(baseline)),
        ("default rules, no model", None),
    ]
    print()
    print(f"2. zero configuration on {len(rows)} mails ({TICKETS / 'mails.csv'})")
    print(f"{'setup':<32} {'lang':>4} {'cat acc':>7} {'cat F1':>7} {'prio acc':>8}")
    for name, classifier in setups:
        decisions = [
            decide(facts_of(n, row), rules, classifier=classifier) for n, row in enumerate(rows)
        ]
        for language in (*LANGUAGES, "all"):
            pairs = [
                (row, d)
                for row, d in zip(rows, decisions, strict=True)
                if language in (row["language"], "all")
            ]
            cats = [row["category"] for row, _ in pairs], [d.category for _, d in pairs]
            prios = [row["priority"] for row, _ in pairs], [d.priority for _, d in pairs]
            print(
                f"{name:<32} {language:>4} {accuracy_score(*cats):7.3f} {macro_f1(*cats):7.3f} "
                f"{accuracy_score(*prios):8.3f}"
            )
        if mistakes and classifier is model:
            for row, d in zip(rows, decisions, strict=True):
                if (d.category, d.priority) != (row["category"], row["priority"]):
                    print(
                        f"    {row['language']} want {row['category']}/{row['priority']} "
                        f"got {d.category}/{d.priority}: {row['subject']}"
                    )
    texts = [ticket_text(row["subject"], row["body"]) for row in rows]
    alone = [p.label for p in model.predict_texts(texts)]
    truth = [row["category"] for row in rows]
    print(
        f"{'shipped model alone':<32} {'all':>4} {accuracy_score(truth, alone):7.3f} "
        f"{macro_f1(truth, alone):7.3f} {'':>8}"
    )
    for language in (*LANGUAGES, "all"):
        part = [row for row in rows if language in (row["language"], "all")]
        wanted = [row["priority"] for row in part]
        medium = accuracy_score(wanted, ["medium"] * len(part))
        keywords = accuracy_score(wanted, [keyword_priority(row) for row in part])
        print(f"{'priority always medium':<32} {language:>4} {'':>7} {'':>7} {medium:8.3f}")
        print(f"{'priority from urgent words':<32} {language:>4} {'':>7} {'':>7} {keywords:8.3f}")


def thresholds(model: CategoryModel, rows: list[dict[str, str]]) -> None:
    predictions = model.predict_texts([r["text"] for r in rows])
    print()
    print("3. the shipped model at a confidence threshold (below it: the fallback)")
    print(f"{'threshold':>9} {'decided':>8} {'accuracy there':>15}")
    for threshold in THRESHOLDS:
        decided = [
            (p.label, r["label"])
            for p, r in zip(predictions, rows, strict=True)
            if p.confidence >= threshold
        ]
        share = len(decided) / len(predictions)
        right = sum(label == truth for label, truth in decided) / len(decided) if decided else 0
        print(f"{threshold:9.1f} {share:8.1%} {right:15.3f}")


def scoring_time(model: CategoryModel, rows: list[dict[str, str]]) -> None:
    print()
    print("4. milliseconds to score one ticket (one text at a time)")
    texts = [prepare(r["text"]) for r in rows]
    ways = {
        "scikit-learn predict_proba": model.pipeline.predict_proba,
        "model scorer": model.scores,
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(3):
        for name, score in ways.items():
            started = time.perf_counter()
            for text in texts:
                score([text])
            times[name].append((time.perf_counter() - started) / len(texts) * 1000)
    for name, rounds in times.items():
        print(
            f"{name:>27} {statistics.median(rounds):6.3f}  rounds {[round(t, 3) for t in rounds]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--mistakes", action="store_true", help="list the mails it gets wrong")
    args = parser.parse_args()
    train_rows = read(TICKETS / "train.csv")
    test_rows = read(TICKETS / "test.csv")
    mails = read(TICKETS / "mails.csv")
    print(f"python {sys.version.split()[0]}, scikit-learn {sklearn.__version__}")
    model = read_model(BUILTIN_MODEL)
    print(
        f"shipped model {model.version}: {model.info.training_rows} training rows, "
        f"{BUILTIN_MODEL.stat().st_size} bytes"
    )
    baseline = build_baseline().fit(
        [r["text"] for r in train_rows], [r["label"] for r in train_rows]
    )
    test_split(model, baseline, test_rows)
    zero_config(model, baseline, mails, args.mistakes)
    thresholds(model, test_rows)
    scoring_time(model, test_rows)


if __name__ == "__main__":
    main()

"""Category model candidates by cross-validation on the training split only.

Each candidate (the shipped ``build_pipeline``, variants of its features and of its
classifier, other linear models, a soft vote) and the bench's baseline are scored by
out-of-fold macro-F1 over ``tests/fixtures/tickets/train.csv``: stratified 5-fold by
category and language, repeated with several shuffles. ``test.csv`` and ``mails.csv``
are never read, so a model can be chosen here and measured there
(``classifier_bench.py``). Texts go through ``prepare`` as in training; the baseline
reads them raw, as in the bench.

Printed per candidate: mean macro-F1 over the repeats (all rows, English, German),
its ratio to the baseline's, and its paired difference from the shipped model (mean
and standard deviation over the repeats, on the same folds).

Run from the repository root (a few minutes on one core):
    .venv/bin/python bench/classifier_cv.py [--repeats N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline

from router.classifier.pipeline import build_baseline, build_pipeline
from router.classifier.text import prepare

TRAIN = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tickets" / "train.csv"
TARGET_RATIO = 1.1


def varied(**params: Any) -> Callable[[], Pipeline]:
    """The shipped pipeline with ``params`` set, by ``set_params`` names
    (``features__words__ngram_range``, ``classify__estimator__C``...)."""
    return lambda: build_pipeline().set_params(**params)


def classified_by(make: Callable[[], Any]) -> Callable[[], Pipeline]:
    """The shipped features before a fresh classifier from ``make``."""
    return lambda: build_pipeline().set_params(classify=make())


def shipped_classifier() -> Any:
    """The shipped pipeline's calibrated linear SVM, unfitted."""
    return build_pipeline().named_steps["classify"]


def logistic(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3_000)


CANDIDATES: dict[str, Callable[[], Pipeline]] = {
    "shipped: build_pipeline()": build_pipeline,
    "SVM C 0.25": varied(classify__estimator__C=0.25),
    "SVM C 1": varied(classify__estimator__C=1.0),
    "SVM, classes unweighted": varied(classify__estimator__class_weight=None),
    "words 1-3": varied(features__words__ngram_range=(1, 3)),
    "words with 1-letter tokens": varied(features__words__token_pattern=r"(?u)\b\w+\b"),
    "chars (char_wb) 3-6": varied(features__chars__ngram_range=(3, 6)),
    "chars (char_wb) 3-6, SVM C 0.25": varied(
        features__chars__ngram_range=(3, 6), classify__estimator__C=0.25
    ),
    "chars (char_wb) 1-5": varied(features__chars__ngram_range=(1, 5)),
    "chars (char, across words) 2-5": varied(features__chars__analyzer="char"),
    "chars min_df 1": varied(features__chars__min_df=1),
    "no strip_accents": varied(
        features__words__strip_accents=None, features__chars__strip_accents=None
    ),
    "logistic regression C 30": classified_by(lambda: logistic(30)),
    "logistic regression C 100": classified_by(lambda: logistic(100)),
    "ridge": classified_by(lambda: RidgeClassifier(class_weight="balanced")),
    "SGD modified_huber a 1e-4": classified_by(
        lambda: SGDClassifier(
            loss="modified_huber", alpha=1e-4, class_weight="balanced", random_state=0
        )
    ),
    "complement NB a 0.1": classified_by(lambda: ComplementNB(alpha=0.1)),
    "soft vote: SVM + LR C 30 + CNB": classified_by(
        lambda: VotingClassifier(
            [
                ("svm", shipped_classifier()),
                ("lr", logistic(30)),
                ("nb", ComplementNB(alpha=0.3)),
            ],
            voting="soft",
        )
    ),
}


def macro_f1(truth: np.ndarray, said: np.ndarray) -> float:
    labels = sorted(set(truth) | set(said))
    return float(f1_score(truth, said, average="macro", labels=labels))


def out_of_fold(
    make: Callable[[], Pipeline],
    texts: list[str],
    labels: np.ndarray,
    splits: list[list[tuple[np.ndarray, np.ndarray]]],
) -> list[np.ndarray]:
    """One out-of-fold prediction of every row per repeat."""
    said = []
    for folds in splits:
        row = np.empty(len(labels), dtype=object)
        for train, held in folds:
            fitted = make().fit([texts[i] for i in train], labels[train])
            row[held] = fitted.predict([texts[i] for i in held])
        said.append(row)
    return said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5, help="shuffles of the 5 folds")
    parser.add_argument("--only", nargs="*", help="candidate names (the shipped one is kept)")
    args = parser.parse_args()
    with TRAIN.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    raw = [r["text"] for r in rows]
    prepared = [prepare(text) for text in raw]
    labels = np.array([r["label"] for r in rows])
    language = np.array([r["language"] for r in rows])
    strata = np.char.add(np.char.add(labels.astype(str), "/"), language.astype(str))
    splits = [
        list(StratifiedKFold(5, shuffle=True, random_state=seed).split(raw, strata))
        for seed in range(args.repeats)
    ]
    print(f"{TRAIN}: {len(rows)} rows, 5 folds x {args.repeats} shuffles, macro-F1 out of fold")

    def scores(said: list[np.ndarray]) -> tuple[list[float], float, float]:
        overall = [macro_f1(labels, s) for s in said]
        parts = [
            statistics.mean(macro_f1(labels[language == lang], s[language == lang]) for s in said)
            for lang in ("en", "de")
        ]
        return overall, parts[0], parts[1]

    base, base_en, base_de = scores(out_of_fold(build_baseline, raw, labels, splits))
    base_mean = statistics.mean(base)
    print(f"{'candidate':<34} {'all':>6} {'en':>6} {'de':>6} {'ratio':>6} {'vs shipped (sd)':>17}")
    print(f"{'baseline (TF-IDF words + LR)':<34} {base_mean:6.4f} {base_en:6.4f} {base_de:6.4f}")
    shipped: list[float] = []
    for name, make in CANDIDATES.items():
        if args.only and name not in args.only and make is not build_pipeline:
            continue
        started = time.perf_counter()
        overall, en, de = scores(out_of_fold(make, prepared, labels, splits))
        shipped = shipped or overall
        gain = [a - b for a, b in zip(overall, shipped, strict=True)]
        spread = statistics.stdev(gain) if len(gain) > 1 else 0.0
        print(
            f"{name:<34} {statistics.mean(overall):6.4f} {en:6.4f} {de:6.4f} "
            f"{statistics.mean(overall) / base_mean:6.3f} "
            f"{statistics.mean(gain):+8.4f} ({spread:.4f})  {time.perf_counter() - started:.0f}s",
            flush=True,
        )
    print(f"a ratio of {TARGET_RATIO} asks for {TARGET_RATIO * base_mean:.4f}")


if __name__ == "__main__":
    main()

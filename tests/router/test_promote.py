"""Promotion is judged on held-apart tickets: only a better model, on enough of them."""

from __future__ import annotations

from router.classifier.promote import MIN_HOLDOUT_ROWS, held_apart, judge
from router.classifier.types import Evaluation


def scored(macro_f1: float, rows: int = 20, accuracy: float = 0.5) -> Evaluation:
    return Evaluation(rows, accuracy, macro_f1, ("a", "b"), (), ((0, 0), (0, 0)), ())


def test_a_better_candidate_is_promoted() -> None:
    verdict = judge(scored(0.81), scored(0.80))
    assert verdict.promote
    assert verdict.reason.startswith("beats the model in force: macro-F1 0.810 vs 0.800")


def test_an_equal_or_worse_candidate_is_not_promoted() -> None:
    assert not judge(scored(0.80), scored(0.80)).promote
    assert not judge(scored(0.70), scored(0.80)).promote


def test_too_few_held_apart_tickets_promote_nothing() -> None:
    verdict = judge(scored(0.99, rows=MIN_HOLDOUT_ROWS - 1), scored(0.10, rows=9))
    assert not verdict.promote
    assert f"only {MIN_HOLDOUT_ROWS - 1} held-apart ticket(s)" in verdict.reason


def test_one_ticket_in_five_is_held_apart_by_number() -> None:
    assert [n for n in range(1, 21) if held_apart(n)] == [5, 10, 15, 20]

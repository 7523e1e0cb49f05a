"""Whether a retrained model may replace the one in force, judged on held-apart tickets.

The held-apart slice is fixed by ticket number (every ``HOLDOUT_EVERY``-th), so the
tickets a candidate is judged on were never trained on by any candidate, and two
retrains compare on the same ground. A candidate is promoted only when the slice is
big enough to mean something and its macro-F1 there beats the model in force.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.classifier.types import Evaluation

HOLDOUT_EVERY = 5  # one corrected ticket in five is held apart
MIN_HOLDOUT_ROWS = 10


def held_apart(ticket_id: int) -> bool:
    """True for the tickets no candidate trains on, only judged on."""
    return ticket_id % HOLDOUT_EVERY == 0


@dataclass(frozen=True, slots=True)
class Verdict:
    """Promote or not, and why, with both models' figures."""

    promote: bool
    reason: str


def judge(
    candidate: Evaluation, in_force: Evaluation, *, min_rows: int = MIN_HOLDOUT_ROWS
) -> Verdict:
    """Promote ``candidate`` only when it beats ``in_force`` on at least ``min_rows``."""
    if candidate.rows < min_rows:
        return Verdict(
            False,
            f"only {candidate.rows} held-apart ticket(s); {min_rows} are needed to judge",
        )
    figures = (
        f"macro-F1 {candidate.macro_f1:.3f} vs {in_force.macro_f1:.3f}, "
        f"accuracy {candidate.accuracy:.3f} vs {in_force.accuracy:.3f} "
        f"on {candidate.rows} held-apart tickets"
    )
    if candidate.macro_f1 > in_force.macro_f1:
        return Verdict(True, f"beats the model in force: {figures}")
    return Verdict(False, f"does not beat the model in force: {figures}")

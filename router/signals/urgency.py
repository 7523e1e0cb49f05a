"""Urgency cues ("outage", "data loss", "charged twice"): the strongest one found counts."""

from __future__ import annotations

from config.scoring import Scoring
from router.rules.base import Context
from router.signals.base import Contribution, phrase_pattern, text_of

NAME = "urgency"


def urgency(scoring: Scoring, ctx: Context) -> Contribution | None:
    if not scoring.urgency:
        return None
    found = {
        " ".join(match.group().lower().split())
        for match in phrase_pattern(tuple(scoring.urgency)).finditer(text_of(ctx))
    }
    if not found:
        return None
    strongest = max(sorted(found), key=lambda cue: scoring.urgency[cue])
    return Contribution(NAME, scoring.urgency[strongest], f"urgency cue {strongest!r}")

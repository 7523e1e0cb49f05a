"""Repeated contact: "second time I write", or several messages in a short time."""

from __future__ import annotations

from config.scoring import Scoring
from router.rules.base import Context
from router.signals.base import Contribution, phrase_pattern, text_of

NAME = "repeat-contact"


def repeat_contact(scoring: Scoring, ctx: Context) -> Contribution | None:
    repeat = scoring.repeat
    if repeat.points == 0:
        return None
    if ctx.facts.recent_contacts >= repeat.contacts:
        reason = f"{ctx.facts.recent_contacts} messages from this customer lately"
        return Contribution(NAME, repeat.points, reason)
    if repeat.phrases:
        found = phrase_pattern(repeat.phrases).search(text_of(ctx))
        if found:
            return Contribution(NAME, repeat.points, f"says {found.group().lower()!r}")
    return None

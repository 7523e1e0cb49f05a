"""Priority by score: urgency cues, sentiment, anger, tier, channel and repeated contact.

With ``prioritize: {match: score}`` every signal adds (or takes away) points with
the weights given here, rules add their own ``score:``, and ``levels`` maps the sum
to a priority. The trace shows each contribution.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from config.rule_fields import MAX_KEYWORD_CHARS, Strict

Points = Annotated[float, Field(ge=-1000, le=1000)]

DEFAULT_URGENCY: dict[str, float] = {
    "outage": 70,
    "data loss": 70,
    "security breach": 70,
    "hacked": 70,
    "site is down": 70,
    "service is down": 70,
    "production down": 70,
    "emergency": 50,
    "urgent": 40,
    "asap": 40,
    "down": 40,
    "charged twice": 40,
    "double charged": 40,
    "locked out": 40,
    "cannot log in": 40,
    "can't log in": 40,
}
DEFAULT_REPEAT_PHRASES = (
    "second time",
    "third time",
    "once again",
    "still waiting",
    "still not",
    "still no",
    "already contacted",
    "already wrote",
    "no response",
    "no reply",
    "asked before",
)


def _check_phrases(value: dict[str, float]) -> dict[str, float]:
    for phrase in value:
        if not phrase.strip() or len(phrase) > MAX_KEYWORD_CHARS:
            raise ValueError(f"cue {phrase!r} must be 1 to {MAX_KEYWORD_CHARS} characters")
    return {" ".join(k.lower().split()): v for k, v in value.items()}


class Levels(Strict):
    """The lowest score of each level; anything below ``medium`` is low."""

    medium: Points = 0
    high: Points = 40
    critical: Points = 70

    def model_post_init(self, context: object, /) -> None:
        if not self.medium < self.high < self.critical:
            raise ValueError("levels must rise: medium < high < critical")


class Repeat(Strict):
    """Repeated contact: a phrase such as "second time", or several messages lately."""

    points: Points = 20
    phrases: tuple[str, ...] = DEFAULT_REPEAT_PHRASES
    contacts: int = Field(default=3, ge=2, le=1000)


class Scoring(Strict):
    """Weights of each signal. Sentiment and anger scale with how strong the signal is."""

    levels: Levels = Levels()
    urgency: Annotated[dict[str, Points], AfterValidator(_check_phrases)] = DEFAULT_URGENCY
    # Points for the most negative sentiment (VADER compound -1); milder is scaled down,
    # and a compound above ``sentiment_threshold`` adds nothing.
    sentiment: Points = 20
    sentiment_threshold: float = Field(default=-0.3, ge=-1, le=0)
    # Points when the text shouts (capitals, "!!!") or uses anger words.
    anger: Points = 15
    tiers: dict[str, Points] = {"vip": 40}
    channels: dict[str, Points] = {}
    repeat: Repeat = Repeat()

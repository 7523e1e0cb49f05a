"""Negative sentiment, scored with VADER (a lexicon and rules tuned for short, informal text).

Only the first few thousand characters are scored: the customer's mood is in what
they wrote first, and VADER's cost grows with the text.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from config.scoring import Scoring
from router.rules.base import Context
from router.signals.base import Contribution

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NAME = "sentiment"
MAX_CHARS = 4000


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    # Imported here: rules without the sentiment signal never load VADER or its lexicon.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    # It keeps the text of both lexicon files (0.8 MiB) after parsing them into the
    # dicts it scores with; nothing reads the text again.
    analyzer.lexicon_full_filepath = analyzer.emoji_full_filepath = ""
    return analyzer


def compound(text: str) -> float:
    """VADER's compound score of ``text``: -1 (most negative) to +1."""
    return float(_analyzer().polarity_scores(text[:MAX_CHARS])["compound"])


def sentiment(scoring: Scoring, ctx: Context) -> Contribution | None:
    if scoring.sentiment == 0:
        return None
    score = compound(f"{ctx.subject}. {ctx.body}")
    if score > scoring.sentiment_threshold:
        return None
    points = round(scoring.sentiment * -score, 1)
    return Contribution(NAME, points, f"negative sentiment (compound {score:.2f})")

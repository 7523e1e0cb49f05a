"""Anger: angry words, shouting in capitals, or a run of exclamation marks."""

from __future__ import annotations

import re

from config.scoring import Scoring
from router.rules.base import Context
from router.signals.base import Contribution, phrase_pattern, text_of

NAME = "anger"
ANGER_WORDS = (
    "furious",
    "angry",
    "outraged",
    "livid",
    "ridiculous",
    "unacceptable",
    "disgusting",
    "pathetic",
    "fed up",
    "sick of",
    "scam",
    "rip-off",
    "ripoff",
    "incompetent",
    "useless",
    "wtf",
)
_SHOUTED_WORD = re.compile(r"\b[A-Z]{3,}\b")
_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
_EXCLAMATIONS = re.compile(r"!{3,}|(?:!\s*\?|\?\s*!){2,}")
MIN_SHOUTED_WORDS = 3
SHOUTED_SHARE = 0.5


def anger(scoring: Scoring, ctx: Context) -> Contribution | None:
    if scoring.anger == 0:
        return None
    text = text_of(ctx)
    word = phrase_pattern(ANGER_WORDS).search(text)
    if word:
        return Contribution(NAME, scoring.anger, f"angry word {word.group().lower()!r}")
    shouted = len(_SHOUTED_WORD.findall(text))
    words = len(_WORD.findall(text))
    if shouted >= MIN_SHOUTED_WORDS and shouted >= SHOUTED_SHARE * words:
        return Contribution(NAME, scoring.anger, f"shouting ({shouted} of {words} words)")
    if _EXCLAMATIONS.search(text):
        return Contribution(NAME, scoring.anger, "a run of exclamation marks")
    return None

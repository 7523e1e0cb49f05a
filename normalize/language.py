"""Which language a message is written in, so rules, routes and teams can use it.

py3langid's naive Bayes model ships inside the package (no download); it is loaded
once. Text that is too short, or a guess below ``MIN_CONFIDENCE``, gives None: a
wrong language is worse than none for routing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

MIN_LETTERS = 12
MIN_CONFIDENCE = 0.5
# The language shows in the first paragraphs; the rest only costs time.
MAX_CHARS = 2000
_URLS_AND_ADDRESSES = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """An ISO 639-1 code and the model's normalized probability for it."""

    code: str
    confidence: float


@cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> LanguageGuess | None:
    """The language of ``text``, or None when it is too short or too unclear to tell."""
    sample = _URLS_AND_ADDRESSES.sub(" ", text[:MAX_CHARS])
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(sample)
    if confidence < MIN_CONFIDENCE or code == "zxx":
        return None
    return LanguageGuess(str(code), round(float(confidence), 3))

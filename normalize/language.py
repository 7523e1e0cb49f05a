"""Detect the language of a message: an ISO 639-1 code and a confidence, or None.

py3langid (a naive Bayes model over byte n-grams that ships inside the package and
is read once, at first use, from an unpacked copy: see ``language_model``) scores
the text. Links, addresses and digits are removed first: they carry no language and
would only add noise. The answer is None when the
text is too short to tell (fewer than ``MIN_LETTERS`` letters), when the best guess
is below ``MIN_CONFIDENCE``, when the text has no linguistic content (py3langid's
``zxx``), or when the language has no ISO 639-1 code. Only the first ``MAX_CHARS``
characters are read, so a long message costs no more than a short one.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

MAX_CHARS = 2048
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.5
# Varieties py3langid tells apart that ISO 639-1 files under one code; codes without
# an ISO 639-1 equivalent (and ``zxx``, "no linguistic content") give None.
_ALIASES = {"ary": "ar", "arz": "ar", "gug": "gn", "uzs": "uz", "wuu": "zh", "yue": "zh"}
# East Asian scripts write a syllable or a word per character: they count double.
_WIDE = 0x2E80

_NOISE = re.compile(r"\bhttps?://\S+|\bwww\.\S+|\S+@\S+|\d+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """A detected language: ISO 639-1 ``code`` and py3langid's probability for it."""

    code: str
    confidence: float


def detect_language(text: str, min_confidence: float = MIN_CONFIDENCE) -> LanguageGuess | None:
    """The language ``text`` is written in, or None when too short or too unsure to tell."""
    sample = _NOISE.sub(" ", text[:MAX_CHARS])
    if _letters(sample) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(sample)
    code = _ALIASES.get(code, code)
    if confidence < min_confidence or len(code) != 2:
        return None
    return LanguageGuess(code, round(float(confidence), 4))


def _letters(text: str) -> int:
    return sum(2 if ord(char) >= _WIDE else 1 for char in text if char.isalpha())


def _identifier() -> LanguageIdentifier:
    # One load per process even when several worker threads ask at once.
    with _LOADING:
        return _load_identifier()


_LOADING = threading.Lock()


@cache
def _load_identifier() -> LanguageIdentifier:
    # Imported here: py3langid brings NumPy, and only the processes that ingest need it.
    # Probabilities rather than raw scores, so the confidence is comparable across texts.
    from normalize.language_model import load_identifier

    return load_identifier()

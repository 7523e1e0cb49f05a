"""Detect the language of a message: an ISO 639-1 code and a confidence, or None.

fastText's language identification model (``lid.176.ftz``, 176 languages, under 1 MB;
see ``resources/NOTICE.md``) scores the text through ``fasttext-predict``, a build of
fastText that only predicts. It is read once per process, at first use. Links,
addresses and digits are removed first: they carry no language and would only add
noise. The answer is None when the text is too short to tell (fewer than
``MIN_LETTERS`` letters), when the best guess is below ``MIN_CONFIDENCE``, or when
the language has no ISO 639-1 code. Only the first ``MAX_CHARS`` characters are
read, so a long message costs no more than a short one.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

MAX_CHARS = 2048
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.5
MODEL_FILE = Path(__file__).with_name("resources") / "lid.176.ftz"
_LABEL = "__label__"
# Varieties the model tells apart that ISO 639-1 files under one code; other codes
# without an ISO 639-1 equivalent give None.
_ALIASES = {"arz": "ar", "azb": "az", "pnb": "pa", "wuu": "zh", "yue": "zh"}
# East Asian scripts write a syllable or a word per character: they count double.
_WIDE = 0x2E80

_NOISE = re.compile(r"\bhttps?://\S+|\bwww\.\S+|\S+@\S+|\d+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """A detected language: ISO 639-1 ``code`` and the model's probability for it."""

    code: str
    confidence: float


def detect_language(text: str, min_confidence: float = MIN_CONFIDENCE) -> LanguageGuess | None:
    """The language ``text`` is written in, or None when too short or too unsure to tell."""
    sample = _NOISE.sub(" ", text[:MAX_CHARS])
    if _letters(sample) < MIN_LETTERS:
        return None
    # The model reads one line: every run of whitespace becomes one space.
    labels, probabilities = _model().predict(" ".join(sample.split()), k=1)
    code = labels[0].removeprefix(_LABEL)
    code = _ALIASES.get(code, code)
    confidence = min(float(probabilities[0]), 1.0)
    if confidence < min_confidence or len(code) != 2:
        return None
    return LanguageGuess(code, round(confidence, 4))


def _letters(text: str) -> int:
    return sum(2 if ord(char) >= _WIDE else 1 for char in text if char.isalpha())


def _model() -> Any:
    # One load per process even when several worker threads ask at once.
    with _LOADING:
        return _load_model()


_LOADING = threading.Lock()


@cache
def _load_model() -> Any:
    # Imported here: only the processes that ingest detect languages.
    import fasttext

    return fasttext.load_model(str(MODEL_FILE))

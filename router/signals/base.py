"""What a priority signal returns: its points and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from config.scoring import Scoring
from router.rules.base import Context


@dataclass(frozen=True, slots=True)
class Contribution:
    """``points`` added to the priority score by ``signal``, and the reason."""

    signal: str
    points: float
    reason: str


class Signal(Protocol):
    def __call__(self, scoring: Scoring, ctx: Context) -> Contribution | None: ...


@lru_cache(maxsize=64)
def phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``phrases`` as whole words, case-insensitive, across any whitespace."""
    alternatives = sorted((r"\s+".join(map(re.escape, p.split())) for p in phrases), key=len)
    return re.compile(r"(?<!\w)(?:" + "|".join(reversed(alternatives)) + r")(?!\w)", re.I)


def text_of(ctx: Context) -> str:
    """Subject and body as one bounded text."""
    return f"{ctx.subject}\n{ctx.body}"

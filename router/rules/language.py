"""The language the message is written in, as detected by ``normalize.language``."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


class LanguageCondition:
    """``language: [de, fr]``: ISO 639-1 codes."""

    name = "language"
    description = "the message is written in one of the listed languages"

    def applies(self, when: When) -> bool:
        return when.language is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        language = ctx.facts.language
        if language is None:
            return Miss("language unknown (text too short or unclear)")
        if language in (when.language or ()):
            return Hit(f"language {language}")
        return Miss(f"language {language} not in {listed(when.language or ())}")

"""Regexes over subject and/or body, compiled at load time."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss


class RegexCondition:
    """``regexes: ['\\binv-\\d+']``: any case-insensitive pattern found in the text."""

    name = "regex"
    description = "a regular expression matches the subject or body"

    def applies(self, when: When) -> bool:
        return when.regexes is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        for field in when.fields:
            text = ctx.text(field)
            for pattern in when.regexes or ():
                if pattern.search(text):
                    return Hit(f"regex {pattern.pattern!r} in {field}")
        return Miss(f"no regex matched in {' or '.join(when.fields)}")

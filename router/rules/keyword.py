"""Keywords: whole words or phrases, case-insensitive, in subject and/or body."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss


class KeywordCondition:
    """``keywords: [refund, charged twice]``: any keyword as a whole word or phrase."""

    name = "keyword"
    description = "a keyword or phrase appears in the subject or body"

    def applies(self, when: When) -> bool:
        return when.keyword_regex is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        pattern = when.keyword_regex
        assert pattern is not None  # applies() said so
        heads = when.keyword_heads
        for field in when.fields:
            words = ctx.ascii_words(field) if heads is not None else None
            if words is not None and heads is not None and words.isdisjoint(heads):
                continue  # no keyword's first word is in the text: no match is possible
            found = pattern.search(ctx.text(field))
            if found:
                keyword = " ".join(found.group().lower().split())
                return Hit(f"keyword {keyword!r} in {field}")
        return Miss(f"no keyword matched in {' or '.join(when.fields)}")

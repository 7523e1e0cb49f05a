"""The category decided by the categorize stage (for prioritize and routes)."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


class CategoryCondition:
    """``category: [billing]``."""

    name = "category"
    description = "the ticket's category is one of the listed ones"

    def applies(self, when: When) -> bool:
        return when.category is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        if ctx.category in (when.category or ()):
            return Hit(f"category {ctx.category}")
        return Miss(f"category {ctx.category} not in {listed(when.category or ())}")

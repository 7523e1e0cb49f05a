"""The customer's tier (from ``tiers:``), e.g. vip or enterprise."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


class TierCondition:
    """``tier: [vip, enterprise]``."""

    name = "tier"
    description = "the customer is in one of the listed tiers"

    def applies(self, when: When) -> bool:
        return when.tier is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        if ctx.tier is None:
            return Miss("customer is in no tier")
        if ctx.tier in (when.tier or ()):
            return Hit(f"tier {ctx.tier}")
        return Miss(f"tier {ctx.tier} not in {listed(when.tier or ())}")

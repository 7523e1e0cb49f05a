"""The customer's tier: VIP and enterprise customers weigh more."""

from __future__ import annotations

from config.scoring import Scoring
from router.rules.base import Context
from router.signals.base import Contribution

NAME = "tier"


def tier(scoring: Scoring, ctx: Context) -> Contribution | None:
    if ctx.tier is None or ctx.tier not in scoring.tiers:
        return None
    return Contribution(NAME, scoring.tiers[ctx.tier], f"customer tier {ctx.tier}")

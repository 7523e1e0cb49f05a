"""The channel: some (SMS, chat) carry more urgency than a mail."""

from __future__ import annotations

from config.scoring import Scoring
from router.rules.base import Context
from router.signals.base import Contribution

NAME = "channel"


def channel(scoring: Scoring, ctx: Context) -> Contribution | None:
    name = ctx.facts.channel.lower()
    if name not in scoring.channels:
        return None
    return Contribution(NAME, scoring.channels[name], f"channel {name}")

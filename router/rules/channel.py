"""The channel the ticket came in on (email, slack, sms, webform)."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


class ChannelCondition:
    """``channel: [slack, sms]``."""

    name = "channel"
    description = "the ticket came in on one of the listed channels"

    def applies(self, when: When) -> bool:
        return when.channel is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        channel = ctx.facts.channel.lower()
        if channel in (when.channel or ()):
            return Hit(f"channel {channel}")
        return Miss(f"channel {channel} not in {listed(when.channel or ())}")

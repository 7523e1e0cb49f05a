"""The address or inbox the message was sent to."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


class RecipientCondition:
    """``recipient: [billing@example.com]``: exact, case-insensitive."""

    name = "recipient"
    description = "the message was sent to one of the listed addresses"

    def applies(self, when: When) -> bool:
        return when.recipient is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        recipient = (ctx.facts.recipient or "").strip().lower()
        if not recipient:
            return Miss("no recipient")
        if recipient in (when.recipient or ()):
            return Hit(f"recipient {recipient}")
        return Miss(f"recipient {recipient} not in {listed(when.recipient or ())}")

"""The sender's address is one of a list."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


class SenderAddressCondition:
    """``sender: [ceo@example.com]``: exact address, case-insensitive."""

    name = "sender-address"
    description = "the sender's address is listed"

    def applies(self, when: When) -> bool:
        return when.sender is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        sender = ctx.facts.sender_email.strip().lower()
        if sender in (when.sender or ()):
            return Hit(f"sender {sender} is listed")
        return Miss(f"sender {sender} not in {listed(when.sender or ())}")

"""How often the customer wrote lately: repeated contact often means an unsolved problem."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss


class ContactsCondition:
    """``contacts_at_least: 3``: messages from this customer lately, this one included."""

    name = "contacts-at-least"
    description = "the customer wrote at least this many messages lately"

    def applies(self, when: When) -> bool:
        return when.contacts_at_least is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        count = ctx.facts.recent_contacts
        wanted = when.contacts_at_least or 0
        if count >= wanted:
            return Hit(f"{count} recent contacts (at least {wanted})")
        return Miss(f"{count} recent contacts (fewer than {wanted})")

"""The mailbox the message was read from (an IMAP mailbox's configured name)."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


class MailboxCondition:
    """``mailbox: [support, billing]``."""

    name = "mailbox"
    description = "the message was read from one of the listed mailboxes"

    def applies(self, when: When) -> bool:
        return when.mailbox is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        mailbox = (ctx.facts.mailbox or "").lower()
        if not mailbox:
            return Miss("not read from a mailbox")
        if mailbox in (when.mailbox or ()):
            return Hit(f"mailbox {mailbox}")
        return Miss(f"mailbox {mailbox} not in {listed(when.mailbox or ())}")

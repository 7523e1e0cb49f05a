"""Whether the message has attachments."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss


class AttachmentsCondition:
    """``has_attachments: true`` (or ``false``)."""

    name = "has-attachments"
    description = "the message has (or has no) attachments"

    def applies(self, when: When) -> bool:
        return when.has_attachments is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        actual = "has attachments" if ctx.facts.has_attachments else "has no attachments"
        if ctx.facts.has_attachments == when.has_attachments:
            return Hit(f"message {actual}")
        return Miss(f"message {actual}")

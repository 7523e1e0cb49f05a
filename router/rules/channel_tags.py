"""Tags the channel gave the message (a web form's ``tags:`` fields, say)."""

from __future__ import annotations

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


class ChannelTagsCondition:
    """``tags: [refund, urgent]``."""

    name = "tags"
    description = "the channel tagged the message with one of the listed tags"

    def applies(self, when: When) -> bool:
        return when.tags is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        wanted = when.tags or ()
        found = [tag for tag in ctx.facts.tags if tag.lower() in wanted]
        if found:
            return Hit(f"tagged {found[0]}")
        if not ctx.facts.tags:
            return Miss("the message has no tags")
        return Miss(f"tags {listed(ctx.facts.tags)} not in {listed(wanted)}")

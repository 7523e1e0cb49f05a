"""The condition kinds a rule's ``when:`` may use, one module each, listed in one registry.

Conditions run in registry order and a rule stops at its first miss, so cheap
comparisons come before text matching. A new kind is one module here, one entry
in ``CONDITIONS`` and one optional field on ``config.rules.When``.
"""

from __future__ import annotations

from router.rules.attachments import AttachmentsCondition
from router.rules.automated import AutomatedCondition
from router.rules.base import Condition, Context, Hit, Miss
from router.rules.business_hours import BusinessHoursCondition
from router.rules.category import CategoryCondition
from router.rules.channel import ChannelCondition
from router.rules.channel_tags import ChannelTagsCondition
from router.rules.contacts import ContactsCondition
from router.rules.keyword import KeywordCondition
from router.rules.language import LanguageCondition
from router.rules.mailbox import MailboxCondition
from router.rules.priority import PriorityCondition
from router.rules.recipient import RecipientCondition
from router.rules.regex import RegexCondition
from router.rules.sender_address import SenderAddressCondition
from router.rules.sender_domain import SenderDomainCondition
from router.rules.tier import TierCondition

CONDITIONS: tuple[Condition, ...] = (
    ChannelCondition(),
    MailboxCondition(),
    ChannelTagsCondition(),
    RecipientCondition(),
    SenderAddressCondition(),
    SenderDomainCondition(),
    AttachmentsCondition(),
    AutomatedCondition(),
    TierCondition(),
    LanguageCondition(),
    ContactsCondition(),
    BusinessHoursCondition(),
    CategoryCondition(),
    PriorityCondition(),
    KeywordCondition(),
    RegexCondition(),
)

__all__ = ["CONDITIONS", "Condition", "Context", "Hit", "Miss"]

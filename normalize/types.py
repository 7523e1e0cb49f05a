"""The frozen value every channel parser produces, and what a parser is given besides the input."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# 2: the sender is a ``Party`` of any kind; conversation key, author role, tags,
# fields and the other identities a channel asserts.
SCHEMA_VERSION = 2


class Channel(StrEnum):
    """The channels omniroute ships; a message's ``channel`` is any registered
    channel's name (these included), so a channel added at start needs no edit here."""

    EMAIL = "email"
    SLACK = "slack"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    WEB = "web"


class PartyKind(StrEnum):
    """How a party is reached: an email address, an E.164 phone number, a Slack
    user as ``team:user``, or a web-form submitter by the email they typed."""

    EMAIL = "email"
    PHONE = "phone"
    SLACK = "slack"
    WEB = "web"


class AuthorRole(StrEnum):
    """Who wrote an inbound message: the customer, or one of our own people
    (a colleague answering in a Slack thread, say)."""

    CUSTOMER = "customer"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Party:
    """Someone on a channel. ``verified`` says the channel proved it (a signed
    request from Slack's own workspace, Twilio's caller id), not merely claimed it."""

    kind: PartyKind
    value: str
    name: str = ""
    verified: bool = False

    @property
    def key(self) -> str:
        """``kind:value``: one string for limits, logs and suppression lists."""
        return f"{self.kind.value}:{self.value}"


@dataclass(frozen=True, slots=True)
class Address:
    """A participant: an email address (lower-cased) and a display name."""

    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """Metadata of one attachment; the bytes travel separately, keyed by ``sha256``."""

    filename: str
    content_type: str
    size: int
    sha256: str
    content_id: str | None = None
    inline: bool = False
    refused_reason: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message, normalized; the input to threading and triage.

    ``body_text`` is what the sender just wrote (quotes and signature stripped
    where recognized); ``body_full`` keeps the whole decoded text.
    ``sender`` is who wrote it; ``recipients`` are email addresses it was sent to.
    ``auto_reasons`` lists why the message looks machine-generated (empty for a
    person); no acknowledgement is ever sent when it is non-empty.
    """

    channel: str
    external_id: str
    sender: Party
    subject: str
    body_text: str
    body_full: str
    recipients: tuple[Address, ...] = ()
    body_html: str | None = None
    message_id: str | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    sent_at: datetime | None = None
    attachments: tuple[AttachmentInfo, ...] = ()
    auto_reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # The channel's own conversation (Slack ``team:channel:thread_ts``, SMS
    # ``customer number:our number``): messages with the same key thread together
    # within the channel's window.
    conversation_key: str | None = None
    # The channel knows this message starts its conversation (a web form's first
    # post, whose key is new): the key is kept for what follows, not looked up.
    opens_conversation: bool = False
    author_role: AuthorRole = AuthorRole.CUSTOMER
    # Other identities the channel asserts for the sender (a Slack profile email,
    # say), each with its own ``verified``; linked, merged or suggested by ingest.
    also_known_as: tuple[Party, ...] = ()
    tags: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    schema_version: int = SCHEMA_VERSION

    @property
    def is_automated(self) -> bool:
        return bool(self.auto_reasons)


@dataclass(frozen=True, slots=True)
class ParsedInput:
    """A parser's result: the message plus attachment bytes keyed by sha256."""

    message: InboundMessage
    payloads: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What a parser may know besides the input: limits and defaults from settings."""

    max_attachment_bytes: int = 10 * 1024 * 1024
    max_total_attachment_bytes: int = 25 * 1024 * 1024
    # Phone numbers written without a country code are read in this region (ISO 3166).
    default_region: str = "US"

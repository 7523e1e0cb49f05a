"""The frozen value every channel parser produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

SCHEMA_VERSION = 1


class Channel(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    SMS = "sms"
    WEB = "web"


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
    ``auto_reasons`` lists why the message looks machine-generated (empty for a
    person); no acknowledgement is ever sent when it is non-empty.
    """

    channel: Channel
    external_id: str
    sender: Address
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
    schema_version: int = SCHEMA_VERSION

    @property
    def is_automated(self) -> bool:
        return bool(self.auto_reasons)


@dataclass(frozen=True, slots=True)
class ParsedInput:
    """A parser's result: the message plus attachment bytes keyed by sha256."""

    message: InboundMessage
    payloads: dict[str, bytes] = field(default_factory=dict)

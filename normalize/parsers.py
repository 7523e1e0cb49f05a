"""The parser of each channel, registered explicitly: raw input as stored → ``ParsedInput``.

A parser is pure: it takes the stored bytes, the edge's envelope (JSON-safe
values the edge recorded beside them) and the limits from settings, and returns
the message or raises ``Unparseable`` with a reason for the sender's fault.
Anything else it raises is a bug in the parser.

The record's ``channel`` names the parser: ``email`` for SMTP, IMAP and the MTA
pipe. A new channel adds one parser module and one line here (or, for a
channel that lives outside this package, one :func:`register` call at start).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from normalize.email import EmailLimits, parse_email
from normalize.errors import Unparseable
from normalize.slack import parse_slack
from normalize.twilio import parse_twilio_record
from normalize.types import ParseContext, ParsedInput
from normalize.webform import parse_webform

Parser = Callable[[bytes, Mapping[str, Any], ParseContext], ParsedInput]


def parse_email_record(
    raw: bytes, envelope: Mapping[str, Any], context: ParseContext
) -> ParsedInput:
    """An RFC 822 message from SMTP, IMAP or the MTA pipe."""
    limits = EmailLimits(
        max_attachment_bytes=context.max_attachment_bytes,
        max_total_attachment_bytes=context.max_total_attachment_bytes,
    )
    # An empty SMTP envelope sender (MAIL FROM:<>) marks a bounce (RFC 5321 4.5.5);
    # keep it distinct from "no envelope" (the MTA pipe).
    mail_from = envelope.get("mail_from")
    return parse_email(
        raw, envelope_sender=None if mail_from is None else str(mail_from), limits=limits
    )


_PARSERS: dict[str, Parser] = {
    "email": parse_email_record,
    # A hosted web form's submission or a follow-up from its ticket's page.
    "web": parse_webform,
    # SMS, MMS and WhatsApp; the message's own channel says which (sms or whatsapp).
    "twilio": parse_twilio_record,
    "slack": parse_slack,
}


def register(channel: str, parser: Parser) -> None:
    """Add (or replace) the parser of ``channel``."""
    _PARSERS[channel] = parser


def parse_record(
    channel: str, raw: bytes, envelope: Mapping[str, Any], context: ParseContext
) -> ParsedInput:
    """Parse one stored input with its channel's parser; ``Unparseable`` if there is none."""
    parser = _PARSERS.get(channel)
    if parser is None:
        raise Unparseable(f"no parser for channel {channel!r}")
    return parser(raw, envelope, context)

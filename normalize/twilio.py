"""Twilio's incoming-message webhook (SMS, MMS, WhatsApp) as an ``InboundMessage``.

Pure: it reads the stored request body (form-encoded as Twilio posts it, or a
JSON object of the same parameters) and returns values. The message's channel
is ``whatsapp`` for a ``whatsapp:+E164`` sender, ``sms`` otherwise; the sender is
the phone number in E.164 (``phonenumbers``), verified, because Twilio proved it.
Media (``MediaUrl{i}`` up to ``NumMedia``) is listed here and fetched by a
worker; opt-out keywords are named here and honoured by ingest.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from normalize.errors import Unparseable
from normalize.storable import storable
from normalize.types import Channel, InboundMessage, ParseContext, ParsedInput, Party, PartyKind

WHATSAPP_PREFIX = "whatsapp:"
# Twilio accepts at most 10 media per message.
MAX_MEDIA = 10
SUBJECT_CHARS = 80

# Twilio's own keyword handling (advanced opt-out), matched on the whole trimmed body.
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
OPT_OUT, OPT_IN, HELP = "opt-out", "opt-in", "help"

_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
# Shorter strings are too often ordinary words to be taken for base64.
_MIN_BASE64_CHARS = 60


@dataclass(frozen=True, slots=True)
class Media:
    """One media item of an MMS or WhatsApp message, as Twilio listed it."""

    index: int
    url: str
    content_type: str


def form_of(raw: bytes, content_type: str = "form") -> dict[str, str]:
    """The webhook's parameters: a form body, or a JSON object for ``content_type`` json."""
    try:
        text = raw.decode("utf-8")
        if content_type == "json":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise Unparseable("a Twilio JSON webhook must be an object")
            pairs = [(str(k), "" if v is None else str(v)) for k, v in data.items()]
        else:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
        return {storable(key): storable(value) for key, value in pairs}
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unparseable(f"not a Twilio webhook body: {exc}") from None


def message_sid(form: Mapping[str, str]) -> str | None:
    """The id Twilio gave the message (older webhooks call it ``SmsMessageSid``)."""
    return form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or None


def keyword_of(body: str) -> str | None:
    """``opt-out``, ``opt-in`` or ``help`` when the whole text is one of Twilio's keywords."""
    word = body.strip().upper()
    if word in OPT_OUT_WORDS:
        return OPT_OUT
    if word in OPT_IN_WORDS:
        return OPT_IN
    if word in HELP_WORDS:
        return HELP
    return None


def media_of(form: Mapping[str, str]) -> tuple[Media, ...]:
    """Every ``MediaUrl{i}`` below ``NumMedia`` (at most Twilio's 10)."""
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    found = []
    for index in range(min(max(count, 0), MAX_MEDIA)):
        url = form.get(f"MediaUrl{index}", "")
        if url:
            content_type = form.get(f"MediaContentType{index}") or "application/octet-stream"
            found.append(Media(index, url, content_type))
    return tuple(found)


def e164(number: str, region: str) -> str:
    """``number`` in E.164; ``Unparseable`` when it is not a possible phone number."""
    # Imported here: the ingesting process loads this module for every channel, and
    # only Twilio's messages carry a phone number.
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        raise Unparseable(f"not a phone number: {number!r} ({exc})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise Unparseable(f"not a possible phone number: {number!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def decode_body(body: str) -> tuple[str, bool]:
    """The text, and whether it came base64-encoded.

    Twilio sometimes delivers a concatenated SMS as an MMS whose ``Body`` is the
    text in base64 (RapidPro's courier decodes it the same way); only a long,
    well-formed base64 string that decodes to printable UTF-8 is taken for one.
    """
    stripped = "".join(body.split())
    if len(stripped) < _MIN_BASE64_CHARS or len(stripped) % 4 or not _BASE64.match(stripped):
        return body, False
    try:
        decoded = base64.b64decode(stripped, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return body, False
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in decoded):
        return body, False
    return decoded, True


def parse_twilio_record(
    raw: bytes, envelope: Mapping[str, Any], context: ParseContext
) -> ParsedInput:
    """One incoming SMS, MMS or WhatsApp message, as the webhook stored it."""
    form = form_of(raw, str(envelope.get("content_type", "form")))
    sid = message_sid(form)
    sender_raw, ours_raw = form.get("From", "").strip(), form.get("To", "").strip()
    if not sid or not sender_raw or not ours_raw:
        raise Unparseable("a Twilio message needs MessageSid, From and To")
    whatsapp = sender_raw.startswith(WHATSAPP_PREFIX)
    channel = Channel.WHATSAPP if whatsapp else Channel.SMS
    sender = e164(sender_raw.removeprefix(WHATSAPP_PREFIX), context.default_region)
    ours = ours_raw.removeprefix(WHATSAPP_PREFIX)
    ours = e164(ours, context.default_region) if ours.startswith("+") else ours
    prefix = WHATSAPP_PREFIX if whatsapp else ""
    text, was_base64 = decode_body(form.get("Body", ""))
    # A WhatsApp quick-reply button sends its label; keep it when there is no text.
    text = text or form.get("ButtonText", "")
    media = media_of(form)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    subject = first_line[:SUBJECT_CHARS] or (
        f"{len(media)} media from {sender}" if media else f"Message from {sender}"
    )
    warnings = ("body was base64-encoded (a concatenated SMS); decoded",) if was_base64 else ()
    fields = [("twilio_account", form.get("AccountSid", "")), ("to", prefix + ours)]
    if form.get("MessagingServiceSid"):
        fields.append(("messaging_service", form["MessagingServiceSid"]))
    keyword = keyword_of(text)
    if keyword is not None:
        fields.append(("keyword", keyword))
    return ParsedInput(
        InboundMessage(
            channel=str(channel),
            external_id=sid,
            sender=Party(PartyKind.PHONE, sender, form.get("ProfileName", ""), verified=True),
            subject=subject,
            body_text=text,
            body_full=text,
            conversation_key=f"{prefix}{sender}:{prefix}{ours}",
            tags=("mms",) if media and not whatsapp else (),
            fields=tuple(fields),
            warnings=warnings,
        )
    )

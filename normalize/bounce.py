"""Recognize bounces and say which of our messages, and which addresses, they concern.

Standard bounces are RFC 3464 delivery status notifications
(``multipart/report; report-type=delivery-status``) carrying the original
message or its headers. Many servers still send free-text bounces; for those the
original Message-ID and failed addresses are looked for in the text.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message

from normalize.attachments import raw_payload

_MAX_SCAN = 256 * 1024
_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-=']{1,64}@[A-Za-z0-9.\-]{1,253}\.[A-Za-z]{2,24}")
_MESSAGE_ID = re.compile(r"^\s*message-id:\s*(<[^<>\s]{1,500}>)", re.IGNORECASE | re.MULTILINE)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_BOUNCE_SUBJECTS = (
    "undeliverable",
    "undelivered mail",
    "delivery status notification",
    "mail delivery failed",
    "delivery failure",
    "returned mail",
    "failure notice",
    "mail delivery system",
    "nondeliverable",
    "unzustellbar",
    "non remis",
)
_SYSTEM_SENDERS = ("mailer-daemon", "postmaster")


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a bounce says: who could not be reached, about which message, and how final."""

    failed_recipients: tuple[str, ...]
    original_message_id: str | None
    status: str | None
    diagnostic: str | None
    permanent: bool


def parse_bounce(raw: bytes, *, exclude: frozenset[str] = frozenset()) -> Bounce | None:
    """A ``Bounce`` when ``raw`` is a delivery failure report, else None. Never raises.

    ``exclude`` lists our own addresses, never reported as failed recipients.
    """
    try:
        message = email.message_from_bytes(raw[: _MAX_SCAN * 4], policy=email.policy.compat32)
        if _is_dsn(message):
            return _from_dsn(message, exclude)
        if _looks_like_bounce(message):
            return _from_text(message, exclude)
    except Exception:  # a malformed bounce is still a message; the caller keeps it
        return None
    return None


def _is_dsn(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == "delivery-status"
    )


def _looks_like_bounce(message: Message) -> bool:
    sender = str(message.get("From", "")).lower()
    subject = str(message.get("Subject", "")).lower()
    from_system = any(name in sender for name in _SYSTEM_SENDERS)
    return from_system and any(word in subject for word in _BOUNCE_SUBJECTS)


def _from_dsn(message: Message, exclude: frozenset[str]) -> Bounce:
    recipients: list[str] = []
    statuses: list[str] = []
    diagnostics: list[str] = []
    permanent = False
    original_id: str | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _status_blocks(part):
                action = block.get("action", "").lower()
                recipient = _address(block.get("final-recipient", ""))
                status = block.get("status", "")
                if recipient and action in {"failed", "delayed", ""}:
                    recipients.append(recipient)
                if status:
                    statuses.append(status)
                    permanent = permanent or (action == "failed" or status.startswith("5"))
                if block.get("diagnostic-code"):
                    diagnostics.append(block["diagnostic-code"])
        elif kind in {"message/rfc822", "text/rfc822-headers"} and original_id is None:
            original_id = _original_message_id(part)
    return Bounce(
        failed_recipients=_clean(recipients, exclude),
        original_message_id=original_id,
        status=statuses[0] if statuses else None,
        diagnostic=diagnostics[0][:500] if diagnostics else None,
        permanent=permanent,
    )


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of a message/delivery-status part."""
    payload = _payload(part)
    if isinstance(payload, list):  # the stdlib parses each field group as a sub-message
        return [{k.lower(): str(v).strip() for k, v in sub.items()} for sub in payload]
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\r?\n\r?\n", payload[:_MAX_SCAN]):
        fields: dict[str, str] = {}
        for line in chunk.splitlines():
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        if fields:
            blocks.append(fields)
    return blocks


def _original_message_id(part: Message) -> str | None:
    payload = _payload(part)
    if isinstance(payload, list):
        value = payload[0].get("Message-ID") if payload else None
        return str(value).strip() if value else None
    match = _MESSAGE_ID.search(payload[:_MAX_SCAN])
    return match.group(1) if match else None


def _payload(part: Message) -> list[Message] | str:
    """A part's sub-messages, or its text (read whatever charset its headers name)."""
    if part.is_multipart():
        return [sub for sub in part.get_payload() if isinstance(sub, Message)]
    return raw_payload(part).decode("utf-8", "replace")


def _from_text(message: Message, exclude: frozenset[str]) -> Bounce:
    text = _plain_text(message)
    match = _MESSAGE_ID.search(text)
    status = _STATUS.search(text)
    sender = _address(str(message.get("From", "")))
    # Message-IDs look like addresses; they are never the failed recipient.
    without_ids = _MESSAGE_ID.sub("", text)
    recipients = [a for a in _ADDRESS.findall(without_ids) if a.lower() != sender]
    code = status.group(1) if status else None
    return Bounce(
        failed_recipients=_clean(recipients[:5], exclude),
        original_message_id=match.group(1) if match else None,
        status=code,
        diagnostic=None,
        permanent=code is None or code.startswith("5"),
    )


def _plain_text(message: Message) -> str:
    chunks: list[str] = []
    size = 0
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() not in {"text", "message"}:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            chunks.append(payload[:_MAX_SCAN].decode("utf-8", "replace"))
            size += len(payload)
        if size > _MAX_SCAN:
            break
    return "\n".join(chunks)[:_MAX_SCAN]


def _address(value: str) -> str:
    # "rfc822; jane@example.com" (RFC 3464 2.3.2) or a plain address
    match = _ADDRESS.search(value.rpartition(";")[2] if ";" in value else value)
    return match.group(0).lower() if match else ""


def _clean(addresses: list[str], exclude: frozenset[str]) -> tuple[str, ...]:
    lowered = (a.lower() for a in addresses)
    return tuple(dict.fromkeys(a for a in lowered if a and a not in exclude))

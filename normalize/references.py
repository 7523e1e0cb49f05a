"""Signed references: ticket numbers we put in Message-IDs and Reply-To addresses.

A bare ticket number can be guessed; a reference carrying an HMAC of the number
cannot. Everything we send carries signed references, so a reply threads from
any sender who holds one (a colleague in Cc, a forwarded thread), while a bare
``[Ticket #N]`` threads only for a participant of that ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_SIG_CHARS = 12  # 48 bits of HMAC-SHA256: far beyond guessing within any rate limit
_MESSAGE_ID = re.compile(
    r"^<omniroute\.(\d{1,12})\.([0-9a-f]{8,32})\.([0-9a-f]{12})@([^<>@\s]{1,255})>$"
)
_PLUS = re.compile(r"^([^+@\s]{1,64})\+(\d{1,12})-([0-9a-f]{12})@([^@\s]{1,255})$")


def _signature(secret: bytes, *parts: str) -> str:
    digest = hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()
    return digest[:_SIG_CHARS]


def signed_message_id(secret: bytes, ticket: int, nonce: str, domain: str) -> str:
    """``<omniroute.<ticket>.<nonce>.<sig>@domain>`` for a message we send about ``ticket``."""
    sig = _signature(secret, "message-id", str(ticket), nonce)
    return f"<omniroute.{ticket}.{nonce}.{sig}@{domain}>"


def ticket_from_message_id(secret: bytes, message_id: str) -> int | None:
    """The ticket a Message-ID we issued refers to, or None if it is not ours or forged."""
    match = _MESSAGE_ID.match(message_id.strip())
    if match is None:
        return None
    ticket, nonce, sig = match.group(1), match.group(2), match.group(3)
    expected = _signature(secret, "message-id", ticket, nonce)
    return int(ticket) if hmac.compare_digest(sig, expected) else None


def signed_reply_address(secret: bytes, base_address: str, ticket: int) -> str:
    """``support+<ticket>-<sig>@example.com``: replies to it thread to ``ticket`` from anyone."""
    local, _, domain = base_address.partition("@")
    sig = _signature(secret, "reply-to", local.lower(), str(ticket))
    return f"{local}+{ticket}-{sig}@{domain}"


def ticket_from_address(secret: bytes, address: str) -> int | None:
    """The ticket a signed plus-address refers to, or None."""
    match = _PLUS.match(address.strip().strip("<>").lower())
    if match is None:
        return None
    local, ticket, sig = match.group(1), match.group(2), match.group(3)
    expected = _signature(secret, "reply-to", local, ticket)
    return int(ticket) if hmac.compare_digest(sig, expected) else None

"""Dedupe keys computed at the edge, before any full parse.

An upstream may deliver the same message twice (an SMTP client resending after
a lost ``250``, an MTA retrying a pipe). The key is the Message-ID when there is
one (RFC 5322 3.6.4 makes it globally unique), else a hash of the whole input.
"""

from __future__ import annotations

import hashlib
import re

# Only the header block is scanned, and only up to this many bytes, so a hostile
# message cannot make the edge do unbounded work.
_HEADER_SCAN_LIMIT = 256 * 1024
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^<>\s]{1,500}>)", re.IGNORECASE | re.MULTILINE)
_MAX_KEY = 500


def email_dedupe_key(raw: bytes) -> str:
    """``email:<message-id>`` or ``email:sha256:<hex>`` for one raw RFC 5322 message."""
    head = raw[:_HEADER_SCAN_LIMIT]
    end = _header_end(head)
    match = _MESSAGE_ID.search(head, 0, end)
    if match:
        return email_dedupe_key_for(match.group(1).decode("ascii", "replace"))
    return "email:sha256:" + hashlib.sha256(raw).hexdigest()


def email_dedupe_key_for(message_id: str) -> str:
    """The dedupe key of a message with this Message-ID (as ``email_dedupe_key`` makes it)."""
    return f"email:{message_id}"[:_MAX_KEY]


def _header_end(head: bytes) -> int:
    positions = [p for p in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if p >= 0]
    return min(positions) if positions else len(head)

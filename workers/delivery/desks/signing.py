"""HMAC-SHA256 signatures on outbound webhooks, and their verification for receivers.

The signed string is ``f"{timestamp}.".encode() + body``: binding the timestamp stops
a captured request from being replayed outside the tolerance window. The signature
header is ``v1=<hex>``; a receiver may also accept a comma-separated list of them, so a
sender can sign with an old and a new secret while rotating.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Omniroute-Signature"
TIMESTAMP_HEADER = "X-Omniroute-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Omniroute-Event"

_SCHEME = "v1="
# Plain ASCII digits only: int() would also accept "+1", " 1" and "1_000".
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``v1=<hex>`` signature of ``body`` sent at ``timestamp`` (Unix seconds)."""
    if not secret:
        raise ValueError("refusing to sign with an empty secret")
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return _SCHEME + mac.hexdigest()


def verify(
    secret: bytes,
    timestamp_header: str,
    signature_header: str,
    body: bytes,
    *,
    now: int,
    tolerance_seconds: int = 300,
) -> bool:
    """Whether the headers prove ``body`` came from a holder of ``secret`` recently.

    Fails closed: an empty secret, a malformed or out-of-window timestamp (stale or
    from the future) or a missing signature all give False. Comparison is
    constant-time.
    """
    if not secret or not _TIMESTAMP.fullmatch(timestamp_header):
        return False
    timestamp = int(timestamp_header)
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body).encode()
    candidates = (part.strip() for part in signature_header.split(","))
    # Check every candidate so timing does not reveal which one matched.
    matched = False
    for candidate in candidates:
        if candidate.startswith(_SCHEME):
            given = candidate.encode("utf-8", errors="replace")
            matched |= hmac.compare_digest(expected, given)
    return matched

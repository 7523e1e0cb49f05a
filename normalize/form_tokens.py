"""Signed tokens of the web forms: the form token a page carries, and follow-up links.

A form token (``<form>.<issued>.<nonce>.<sig>``) proves a post comes from a page we
served, and when: too soon is a bot (the time trap), too old has expired. A
follow-up token (``<ticket>.<issued>.<expires>.<sig>``) is an HMAC over the ticket
and its expiry, so it can be neither guessed nor extended; a ticket revokes every
token issued before a moment (``issued`` is compared with it by the caller).
Times are whole seconds since the epoch.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_FORM = re.compile(r"^([a-z0-9-]{1,80})\.(\d{1,12})\.([0-9a-f]{16})\.([0-9a-f]{32})$")
_FOLLOW_UP = re.compile(r"^(\d{1,12})\.(\d{1,12})\.(\d{1,12})\.([0-9a-f]{32})$")


def _sign(secret: bytes, *parts: str) -> str:
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def form_token(secret: bytes, form: str, issued: int) -> str:
    """A token for one rendering of ``form`` at ``issued``."""
    nonce = secrets.token_hex(8)
    return f"{form}.{issued}.{nonce}.{_sign(secret, 'form', form, str(issued), nonce)}"


def form_token_issued(secret: bytes, token: str, form: str) -> int | None:
    """When a genuine token for ``form`` was issued, or None if it is forged or another form's."""
    match = _FORM.match(token)
    if match is None or match.group(1) != form:
        return None
    issued, nonce, sig = match.group(2), match.group(3), match.group(4)
    expected = _sign(secret, "form", form, issued, nonce)
    return int(issued) if hmac.compare_digest(sig, expected) else None


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What a genuine follow-up token says."""

    ticket: int
    issued: int
    expires: int


def follow_up_token(secret: bytes, ticket: int, issued: int, expires: int) -> str:
    """The token of ``/t/{token}`` for ``ticket``, valid until ``expires``."""
    sig = _sign(secret, "follow-up", str(ticket), str(issued), str(expires))
    return f"{ticket}.{issued}.{expires}.{sig}"


def read_follow_up(secret: bytes, token: str) -> FollowUp | None:
    """The token's ticket and times, or None if it is not one we signed (expiry unchecked)."""
    match = _FOLLOW_UP.match(token)
    if match is None:
        return None
    ticket, issued, expires, sig = match.groups()
    if not hmac.compare_digest(sig, _sign(secret, "follow-up", ticket, issued, expires)):
        return None
    return FollowUp(int(ticket), int(issued), int(expires))

"""Header policy for the mail we send: ids never encoded or folded, addresses encoded right.

Python's default policy folds any header past 78 characters, and a header with
no whitespace to fold at (one long ``<id>``) is RFC 2047-encoded instead,
which turns ``In-Reply-To: <long-id@host>`` into ``=?utf-8?q?=3C...?=`` that no
mail client can match to the customer's message. Message-ID, In-Reply-To and
References are therefore written as they are (RFC 5322 §3.6.4 allows no
encoded words in them); only past the 998-character line limit (§2.1.1) is a
References list folded, between ids.

Addresses are given to the policy as ``headerregistry.Address`` values, so a
display name with quotes, commas or non-ASCII letters is quoted or RFC 2047
encoded as one name instead of being re-parsed from a formatted string. A
non-ASCII domain is written in its IDNA form; a non-ASCII local part can only
travel as SMTPUTF8 (RFC 6531/6532), so such a message uses a UTF-8 policy.
"""

from __future__ import annotations

from contextlib import suppress
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any

MSGID_HEADERS = frozenset({"message-id", "in-reply-to", "references"})
MAX_LINE = 998  # RFC 5322 §2.1.1, without the CRLF


class ReusedHeaderClasses(HeaderRegistry):
    """The standard header registry, making each header's class once.

    ``HeaderRegistry`` builds a new class for every header it parses or sets (with
    ``type()``, and freed only by the cycle collector); that was about 40 % of the
    time to build an acknowledgement. The classes depend on the header's name only.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


class OutboundPolicy(EmailPolicy):
    """``email.policy.default`` except that message-id headers are never encoded or folded."""

    def fold(self, name: str, value: Any) -> str:
        if name.lower() in MSGID_HEADERS and str(value).isascii():
            return _ids_line(name, str(value), self.linesep)
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in MSGID_HEADERS and str(value).isascii():
            return _ids_line(name, str(value), self.linesep).encode("ascii")
        return bytes(super().fold_binary(name, value))


HEADER_CLASSES = ReusedHeaderClasses()
OUTBOUND = OutboundPolicy(header_factory=HEADER_CLASSES)
OUTBOUND_UTF8 = OutboundPolicy(utf8=True, header_factory=HEADER_CLASSES)


def new_message(*recipients: str) -> EmailMessage:
    """An empty message with the policy the recipients' addresses need."""
    needs_utf8 = any(not address.rpartition("@")[0].isascii() for address in recipients)
    return EmailMessage(policy=OUTBOUND_UTF8 if needs_utf8 else OUTBOUND)


def mailbox(name: str, address: str) -> Address:
    """``name <address>`` for a header; the domain in IDNA form when it is not ASCII."""
    local, at, domain = address.rpartition("@")
    if not at:
        return Address(display_name=name, addr_spec=address)
    if not domain.isascii():
        # Not a valid IDNA name: kept as written, and the relay refuses this recipient.
        with suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    return Address(display_name=name, username=local, domain=domain)


def envelope_address(address: str) -> str:
    """The SMTP envelope form of ``address`` (IDNA domain)."""
    return str(mailbox("", address).addr_spec)


def _ids_line(name: str, value: str, linesep: str) -> str:
    ids = " ".join(value.split())
    lines = [f"{name}: "]
    for token in ids.split(" "):
        if lines[-1].endswith(": "):
            lines[-1] += token
        elif len(lines[-1]) + 1 + len(token) <= MAX_LINE:
            lines[-1] += " " + token
        else:
            lines.append(" " + token)
    return linesep.join(lines) + linesep

"""Decode and parse individual header values tolerantly: text, addresses, message ids, dates.

Every function takes a header value as the parser stored it and returns a
value, never raising: a header a sender got wrong degrades to an empty or
partial value, and the caller decides whether that deserves a warning.
"""

from __future__ import annotations

import binascii
import re
import unicodedata
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from normalize.charsets import decode_text
from normalize.storable import storable
from normalize.types import Address

# RFC 2047 §2: =?charset?encoding?encoded-text?= ; RFC 2231 §5 adds *language.
# Each part is a single negated character class, so matching is linear.
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?\s]*)\?=")
_BLANK_ONLY = re.compile(r"[ \t\r\n]*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_WHITESPACE = re.compile(r"\s+")
_MSGID_TOKEN = re.compile(r"<([^<>]*)>")

# The store's message-id columns hold 512 characters, brackets included; a longer id
# (RFC 5322 lets a folded one run on) is read as absent, on every side of a thread alike.
MAX_MSGID_CHARS = 512
MAX_REFERENCES = 100


def raw_to_text(value: object) -> str:
    """A stored header value as text: unfolded, 8-bit bytes decoded as UTF-8 else windows-1252.

    The bytes parser keeps non-ASCII header bytes as surrogate escapes;
    RFC 6532 allows UTF-8 there, older clients send their local charset.
    """
    text = value if isinstance(value, str) else str(value)
    try:
        raw = text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        pass  # already real text
    else:
        if not raw.isascii():
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", errors="replace")
    return storable(_FOLD.sub("", text))


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; malformed words are left as they were written."""
    pieces: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent words, joined before decoding
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        # RFC 2047 §6.2: whitespace between adjacent encoded words is dropped.
        if between and not (pending and _BLANK_ONLY.fullmatch(between)):
            pieces.append(_flush(pending))
            pieces.append(between)
        charset = match.group(1).split("*", 1)[0]
        data = _decode_word(match.group(2), match.group(3))
        if data is None:
            pieces.append(_flush(pending))
            pieces.append(match.group(0))
        else:
            if pending and pending[-1][0].lower() != charset.lower():
                pieces.append(_flush(pending))
            pending.append((charset, data))
        position = match.end()
    pieces.append(_flush(pending))
    pieces.append(text[position:])
    return "".join(pieces)


def _decode_word(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding in "bB":
            padded = payload + "=" * (-len(payload) % 4)
            return binascii.a2b_base64(padded.encode("ascii", "surrogateescape"))
        return binascii.a2b_qp(payload.encode("ascii", "surrogateescape"), header=True)
    except (binascii.Error, ValueError):
        return None


def _flush(pending: list[tuple[str, bytes]]) -> str:
    """Decode and clear the pending run of same-charset words (a multi-byte
    character may be split across words by some encoders)."""
    if not pending:
        return ""
    charset = pending[0][0]
    data = b"".join(chunk for _, chunk in pending)
    pending.clear()
    return decode_text(data, charset)[0]


def clean_text(text: str) -> str:
    """Collapse whitespace and drop control and format characters (a display value)."""
    kept = "".join(
        ch if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf") else "" for ch in text
    )
    return _WHITESPACE.sub(" ", kept).strip()


def header_display(value: object) -> str:
    """An unstructured header (Subject, a display name) as one clean line."""
    return clean_text(decode_words(raw_to_text(value)))


def parse_addresses(values: list[str]) -> list[Address]:
    """Usable addresses in header values (lower-cased, display names decoded), in order."""
    found: list[Address] = []
    seen: set[str] = set()
    try:
        pairs = getaddresses([raw_to_text(v) for v in values])
    except Exception:  # getaddresses has raised on pathological input in past releases
        return found
    for name, address in pairs:
        email = normalize_address(address)
        if email is None or email in seen:
            continue
        seen.add(email)
        found.append(Address(email=email, name=clean_text(decode_words(name))))
    return found


def normalize_address(address: str) -> str | None:
    """``local@domain`` lower-cased, or ``None`` when it cannot be an address."""
    email = clean_text(address).strip("<>").lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or " " in email or len(email) > 320:
        return None
    return email


def msgid_tokens(value: str | None, limit: int = MAX_REFERENCES) -> tuple[str, ...]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References value.

    Whitespace inside a token is removed (folding by broken clients). Over
    ``limit`` tokens, the first (the thread root) and the latest are kept.
    """
    if not value:
        return ()
    tokens: list[str] = []
    seen: set[str] = set()
    for inner in _MSGID_TOKEN.findall(raw_to_text(value)):
        msgid = "<" + _WHITESPACE.sub("", inner) + ">"
        if len(msgid) > 2 and len(msgid) <= MAX_MSGID_CHARS and msgid not in seen:
            seen.add(msgid)
            tokens.append(msgid)
    if len(tokens) > limit:
        tokens = tokens[:1] + tokens[len(tokens) - (limit - 1) :]
    return tuple(tokens)


def message_id(value: str | None) -> str | None:
    """A normalized ``<id>`` from a Message-ID value, tolerating missing brackets."""
    if value is None:
        return None
    tokens = msgid_tokens(value, limit=1)
    if tokens:
        return tokens[0]
    bare = _WHITESPACE.sub("", raw_to_text(value)).strip("<>")
    if bare and len(bare) + 2 <= MAX_MSGID_CHARS:
        return f"<{bare}>"
    return None


def parse_date(value: str | None) -> datetime | None:
    """The Date header as an aware datetime; ``None`` when it cannot be read."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(raw_to_text(value))
    except Exception:  # ValueError, TypeError, OverflowError depending on the garbage
        return None
    if parsed.tzinfo is None:
        # RFC 5322 §3.3: "-0000" means the time is UTC with no local zone known.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def header_map(message: Message) -> dict[str, list[str]]:
    """Lower-cased header name to every value, in order, as text.

    Values are read raw, bypassing the policy's header parsing (which can raise).
    """
    found: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        found.setdefault(str(name).strip().lower(), []).append(raw_to_text(value))
    return found


def first_header(message: Message, name: str) -> str | None:
    """The first value of header ``name`` as text, or ``None``."""
    values = header_map(message).get(name.lower())
    return values[0] if values else None

"""Describe one non-body MIME part as an ``AttachmentInfo``, enforcing the size limits.

A part over a limit is still described (name, type, size, hash) with the
reason it was refused; only its bytes are left out. Nothing is dropped without
a trace.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from io import BytesIO

from normalize.base64_body import decode_base64
from normalize.headers import decode_words, first_header, raw_to_text
from normalize.types import AttachmentInfo

MAX_FILENAME_CHARS = 200
_MAX_EXTENSION_CHARS = 20
_WHITESPACE = re.compile(r"\s+")
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,127}/[a-z0-9!#$&^_.+-]{1,127}")
MAX_CONTENT_ID_CHARS = 255
_DEFAULT_TYPE = "application/octet-stream"  # RFC 2046 §4.5.1: arbitrary binary data
_FLATTEN_POLICY = compat32.clone(max_line_length=0)  # no refolding: keep headers as sent


@dataclass(slots=True)
class AttachmentBudget:
    """The limits, and what accepted attachments have used of the total so far."""

    max_bytes: int
    max_total_bytes: int
    used_bytes: int = 0
    count: int = 0


def describe(
    part: Message, budget: AttachmentBudget, payloads: dict[str, bytes], warnings: list[str]
) -> AttachmentInfo:
    """Describe ``part``; store its bytes in ``payloads`` when within the limits."""
    budget.count += 1
    content_type = _content_type(part)
    problems: list[str] = []
    data = part_bytes(part, problems)
    warnings.extend(f"attachment {budget.count}: broken base64: {problem}" for problem in problems)
    if data is None:
        warnings.append(f"attachment {budget.count}: content could not be decoded; kept raw")
        data = raw_payload(part)
    digest = hashlib.sha256(data).hexdigest()
    size = len(data)

    refused: str | None = None
    if size > budget.max_bytes:
        refused = f"attachment exceeds {budget.max_bytes} bytes"
    elif budget.used_bytes + size > budget.max_total_bytes:
        refused = f"attachments exceed {budget.max_total_bytes} bytes in total"
    else:
        budget.used_bytes += size
        payloads[digest] = data

    disposition = _disposition(part)
    content_id = _content_id(part)
    default_name = "forwarded-message.eml" if content_type == "message/rfc822" else None
    return AttachmentInfo(
        filename=safe_filename(_raw_filename(part)) or default_name or f"attachment-{budget.count}",
        content_type=content_type,
        size=size,
        sha256=digest,
        content_id=content_id,
        inline=disposition == "inline" or (disposition == "" and content_id is not None),
        refused_reason=refused,
    )


def part_bytes(part: Message, problems: list[str] | None = None) -> bytes | None:
    """The decoded content of a part; an embedded message (message/*) serialized whole.

    Damaged base64 is decoded as far as it goes; what was wrong with it is
    appended to ``problems``.
    """
    try:
        if not part.is_multipart():
            # Read as text, a payload is decoded from the charset the headers name, which
            # can fail whatever the bytes; so only base64, which is decoded here, is read so.
            payload = part.get_payload() if _transfer_encoding(part) == "base64" else None
            if isinstance(payload, str):
                decoded, found = decode_base64(payload.encode("utf-8", "surrogateescape"))
                if problems is not None:
                    problems.extend(found)
                return decoded
            data = part.get_payload(decode=True)
            return data if isinstance(data, bytes) else None
        if part.get_content_maintype() == "message":
            # message/rfc822 holds one message, message/delivery-status a list of header blocks.
            children = part.get_payload()
            return b"".join(_flatten(child) for child in children if isinstance(child, Message))
        return _flatten(part)  # a multipart nested too deep to walk: keep it as a MIME entity
    except Exception:  # malformed encodings and structures surface as assorted errors
        return None


def _transfer_encoding(part: Message) -> str:
    return str(part.get("content-transfer-encoding", "")).strip().lower()


def _flatten(message: Message) -> bytes:
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=_FLATTEN_POLICY).flatten(message)
    return buffer.getvalue()


def raw_payload(part: Message) -> bytes:
    """A leaf part's payload as it came, for when its transfer encoding cannot be undone.

    The standard library reads a payload holding 8-bit bytes through the charset the
    headers name, which fails for a name no codec takes (a NUL in it raises
    ``ValueError``); such a payload is read as the bytes its transfer encoding gives."""
    try:
        payload = part.get_payload()
    except (ValueError, LookupError):
        payload = part.get_payload(decode=True)
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return payload if isinstance(payload, bytes) else b""


def safe_filename(raw: str | None) -> str:
    """A display-safe basename: no directories, control or format characters, at most 200 chars."""
    if not raw:
        return ""
    name = raw_to_text(raw)
    name = decode_words(name)  # RFC 2047 words in filenames are not standard but common
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cf removes bidi overrides (U+202E) used to disguise "exe" as "pdf".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    name = _WHITESPACE.sub(" ", name).strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= _MAX_EXTENSION_CHARS:
            name = stem[: MAX_FILENAME_CHARS - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME_CHARS]
    return name


def _raw_filename(part: Message) -> str | None:
    try:
        # Handles RFC 2231 parameters (charset, continuations) and the Content-Type name.
        return part.get_filename()
    except Exception:
        return None


def _content_type(part: Message) -> str:
    try:
        return mime_type(part.get_content_type())
    except Exception:
        return _DEFAULT_TYPE


def mime_type(value: str) -> str:
    """``value`` lower-cased when it is a ``type/subtype`` of RFC 2045 §5.1 tokens, else
    ``application/octet-stream``: the value is stored and shown, so junk is replaced."""
    lowered = value.strip().lower()
    return lowered if _MIME_TYPE.fullmatch(lowered) else _DEFAULT_TYPE


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _content_id(part: Message) -> str | None:
    value = first_header(part, "content-id")
    if value is None:
        return None
    cleaned = "".join(ch for ch in raw_to_text(value) if ch.isprintable() and not ch.isspace())
    cleaned = cleaned.strip("<>")
    # Longer than the store's column: no ``cid:`` link names such an id, so it is read as absent.
    return cleaned if 0 < len(cleaned) <= MAX_CONTENT_ID_CHARS else None

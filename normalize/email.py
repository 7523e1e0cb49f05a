"""Parse one raw RFC 5322 / MIME message into an ``InboundMessage``: the email channel's parser.

Pure. Any bytes give either a ``ParsedInput`` or, when the input genuinely
cannot become a message (no usable sender anywhere, a header block past the
limit), ``Unparseable`` with a reason. What the parser had to repair is listed
in ``warnings`` (RFC 5322 and the MIME RFCs are widely violated, and a
customer's mail must not be lost to a sender's bug). Any other exception is a
bug in this code: it propagates, so the worker records it with its stage and
traceback and the input can be replayed once fixed, instead of being
quarantined as if the sender were at fault.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from normalize.attachments import AttachmentBudget, describe, part_bytes, raw_payload
from normalize.autoreply import auto_reasons
from normalize.charsets import decode_text
from normalize.errors import Unparseable
from normalize.headers import (
    header_display,
    header_map,
    message_id,
    msgid_tokens,
    normalize_address,
    parse_addresses,
    parse_date,
)
from normalize.html import html_to_text, sanitize_html
from normalize.quotes import strip_quotes
from normalize.storable import storable
from normalize.types import (
    Address,
    AttachmentInfo,
    Channel,
    InboundMessage,
    ParsedInput,
    Party,
    PartyKind,
)

MIB = 1024 * 1024
SYNTHETIC_DOMAIN = "omniroute.invalid"  # RFC 2606 §2: .invalid can never be a real host
MAX_MIME_DEPTH = 32  # deeper nesting is kept whole as an attachment, not walked

# A header line as Python's feed parser recognizes one (RFC 5322 §2.2 field
# name, a continuation starting with WSP, or an mbox "From " line).
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_NEWLINES = re.compile(r"\r\n|\r")


@dataclass(frozen=True, slots=True)
class EmailLimits:
    """Bounds on what one message may make the parser hold."""

    max_attachment_bytes: int = 10 * MIB
    max_total_attachment_bytes: int = 25 * MIB
    max_header_bytes: int = 256 * 1024


def parse_email(
    raw: bytes, *, envelope_sender: str | None = None, limits: EmailLimits = EmailLimits()
) -> ParsedInput:
    """Parse a raw message as received (RFC 5322 with MIME).

    ``envelope_sender`` is the SMTP ``MAIL FROM`` (``""`` for the null sender),
    used when the From header is unusable and as an automated-mail signal.

    Raises ``Unparseable`` when there is no usable sender or the header block
    is larger than ``limits.max_header_bytes``; anything else it raises is a bug.
    """
    raw = bytes(raw)
    if _header_block_exceeds(raw, limits.max_header_bytes):
        raise Unparseable(f"header block exceeds {limits.max_header_bytes} bytes")
    try:
        root = BytesParser(policy=compat32).parsebytes(raw)
    except RecursionError:
        # The standard library's feed parser recurses once per nested multipart
        # and gives up near a thousand levels: no client nests like that.
        raise Unparseable("MIME nesting too deep to parse") from None
    headers = header_map(root)
    warnings: list[str] = []
    if any("\x00" in value for values in headers.values() for value in values):
        warnings.append("NUL bytes removed from headers")

    sender = _sender(headers, envelope_sender, warnings)
    external_id = message_id(_first(headers, "message-id"))
    if external_id is None:
        reason = "missing" if "message-id" not in headers else "unusable"
        warnings.append(f"{reason} Message-ID; synthesized from content hash")
        external_id = f"<{hashlib.sha256(raw).hexdigest()}@{SYNTHETIC_DOMAIN}>"

    walk = _Walk(
        budget=AttachmentBudget(limits.max_attachment_bytes, limits.max_total_attachment_bytes),
        warnings=warnings,
        named_body=_named_body(root),
    )
    walk.part(root, depth=0, shadow=False)
    body_full = _tidy("\n\n".join(walk.texts), warnings)
    body_html = _tidy("\n".join(walk.html), warnings) if walk.html else None

    recipients = parse_addresses(headers.get("to", []) + headers.get("cc", []))
    return ParsedInput(
        message=InboundMessage(
            channel=Channel.EMAIL,
            external_id=external_id,
            sender=Party(PartyKind.EMAIL, sender.email, sender.name),
            subject=header_display(_first(headers, "subject") or ""),
            body_text=strip_quotes(body_full),
            body_full=body_full,
            recipients=tuple(recipients),
            body_html=sanitize_html(body_html) if body_html is not None else None,
            message_id=external_id,
            in_reply_to=msgid_tokens(_first(headers, "in-reply-to")),
            references=msgid_tokens(" ".join(headers.get("references", []))),
            sent_at=parse_date(_first(headers, "date")),
            attachments=tuple(walk.attachments),
            auto_reasons=auto_reasons(
                headers,
                from_address=sender.email,
                envelope_sender=envelope_sender,
                content_type=_content_type(root),
            ),
            warnings=tuple(dict.fromkeys(warnings)),
        ),
        payloads=walk.payloads,
    )


def _header_block_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the header block (up to the first blank or non-header line) is over ``limit``."""
    position = 0
    while position < len(raw):
        ending = _LINE_END.search(raw, position)
        end = ending.end() if ending else len(raw)
        line_start = raw[position : min(end, position + 1024)]
        if ending and ending.start() == position:
            return False  # the blank line ending the header block
        if not _HEADER_LINE.match(line_start):
            return False
        position = end
        if position > limit:
            return True
    return False


def _sender(headers: dict[str, list[str]], envelope: str | None, warnings: list[str]) -> Address:
    """The author: From, else the next best header or the envelope, with a warning naming it.

    RFC 5322 §3.6.2: Sender is the mailbox that sent the message for the
    author, the closest stand-in; Reply-To is where the author wants answers;
    then the SMTP envelope sender, and last the Return-Path an earlier MTA
    recorded from it (RFC 5321 §4.4).
    """
    found = parse_addresses(headers.get("from", []))
    if found:
        return found[0]
    for name, source in (("sender", "Sender"), ("reply-to", "Reply-To")):
        found = parse_addresses(headers.get(name, []))
        if found:
            warnings.append(f"From missing or unparseable; sender taken from the {source} header")
            return found[0]
    fallback = normalize_address(envelope) if envelope else None
    if fallback is not None:
        warnings.append("From missing or unparseable; sender taken from the envelope")
        return Address(email=fallback)
    found = parse_addresses(headers.get("return-path", []))
    if found:
        warnings.append("From missing or unparseable; sender taken from the Return-Path header")
        return found[0]
    raise Unparseable(
        "no usable sender: no From, Sender, Reply-To or Return-Path address and no envelope sender"
    )


@dataclass(slots=True)
class _Walk:
    """Collects body text, HTML and attachments from a depth-first walk of the MIME tree."""

    budget: AttachmentBudget
    warnings: list[str]
    named_body: Message | None = None
    texts: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[AttachmentInfo] = field(default_factory=list)
    payloads: dict[str, bytes] = field(default_factory=dict)

    def part(self, part: Message, *, depth: int, shadow: bool) -> None:
        """Walk ``part``; ``shadow`` marks an alternative not chosen for the text body."""
        content_type = _content_type(part)
        if part.is_multipart() and content_type.startswith("multipart/"):
            if depth < MAX_MIME_DEPTH:
                children = [c for c in _children(part) if isinstance(c, Message)]
                if content_type == "multipart/alternative":
                    self.alternative(children, depth=depth + 1, shadow=shadow)
                else:
                    for child in children:
                        self.part(child, depth=depth + 1, shadow=shadow)
                return
            self.warnings.append(f"MIME nesting deeper than {MAX_MIME_DEPTH}; kept as attachment")
        kind = _body_kind(part, content_type, self.named_body)
        if kind is None:
            self.attachments.append(describe(part, self.budget, self.payloads, self.warnings))
        elif kind == "html":
            markup = self.decode(part)
            self.html.append(markup)
            if not shadow:
                self.texts.append(html_to_text(markup))
        elif not shadow:
            self.texts.append(self.decode(part))

    def alternative(self, children: list[Message], *, depth: int, shadow: bool) -> None:
        # RFC 2046 §5.1.4: alternatives are ordered plainest first; plain text is
        # preferred for the text body, the richest (last) otherwise.
        plain = [c for c in children if _body_kind(c, _content_type(c), self.named_body) == "plain"]
        chosen = plain[0] if plain else (children[-1] if children else None)
        for child in children:
            self.part(child, depth=depth, shadow=shadow or child is not chosen)

    def decode(self, part: Message) -> str:
        problems: list[str] = []
        data = part_bytes(part, problems)
        self.warnings.extend(f"body: broken base64: {problem}" for problem in problems)
        if data is None:
            data = raw_payload(part)
            self.warnings.append("body: transfer encoding could not be decoded; kept raw")
        text, problem = decode_text(data, _charset(part))
        if problem:
            self.warnings.append(f"body: {problem}")
        return text


def _body_kind(part: Message, content_type: str, named_body: Message | None) -> str | None:
    """``"plain"`` or ``"html"`` when ``part`` is message text, ``None`` for an attachment.

    A text part with a file name is an attachment, unless it is ``named_body``.
    """
    if part.is_multipart():
        return None
    if part is not named_body and (_disposition(part) == "attachment" or _has_filename(part)):
        return None
    if content_type == "text/html":
        return "html"
    if content_type == "text/plain" or content_type.startswith("multipart/"):
        return "plain"  # a multipart without a usable boundary is read as text
    return None


def _named_body(root: Message) -> Message | None:
    """The message's text when its only text part carries a file name (and is not
    an attachment): ``Content-Disposition: inline; filename=...``, as some clients
    and gateways send the body. ``None`` when any unnamed text part exists.

    Python's ``get_body`` reads such a part as the body too (RFC 2183 §2.1:
    inline content is displayed; the file name is only a suggestion).
    """
    candidate: Message | None = None
    stack: list[tuple[Message, int]] = [(root, 0)]
    while stack:
        part, depth = stack.pop()
        content_type = _content_type(part)
        if part.is_multipart() and content_type.startswith("multipart/"):
            if depth < MAX_MIME_DEPTH:
                children = [c for c in _children(part) if isinstance(c, Message)]
                stack.extend((child, depth + 1) for child in reversed(children))
            continue
        if _body_kind(part, content_type, None) is not None:
            return None  # an ordinary text part: that is the body
        if (
            candidate is None
            and content_type in ("text/plain", "text/html")
            and _disposition(part) != "attachment"
        ):
            candidate = part
    return candidate


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:  # a malformed header reads as no disposition
        return ""


def _has_filename(part: Message) -> bool:
    try:
        return bool(part.get_filename())
    except Exception:  # a malformed RFC 2231 parameter still names a file
        return True


def _children(part: Message) -> list[object]:
    payload = part.get_payload()
    return list(payload) if isinstance(payload, list) else []


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"  # RFC 2045 §5.2 default


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _tidy(text: str, warnings: list[str]) -> str:
    """\\n line endings, no NULs, no trailing whitespace on any line or at the end."""
    if "\x00" in text:
        warnings.append("NUL bytes removed from body")
        text = storable(text)
    lines = _NEWLINES.sub("\n", text).split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")

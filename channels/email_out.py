"""Outbound email: build our automated mail (RFC 3834) and hand it to a transport.

With no relay configured mail is stored as ``.eml`` blobs under ``sent-mail/``
in the blob store (``<data dir>/sent-mail`` on the embedded default) so a laptop
user can read what customers would receive; production points
``OMNIROUTE_OUTBOUND_SMTP_URL`` at a relay.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from channels.mail_headers import envelope_address, mailbox, new_message
from config.settings import Settings
from ingest.blobs import BlobStore, blob_store_for
from ingest.models import utcnow
from normalize.references import signed_message_id
from normalize.threadkeys import subject_tag


class MailTransport(Protocol):
    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class SmtpTransport:
    """``smtp://user:pass@host:587?starttls=1`` or ``smtps://host:465``."""

    url: str
    timeout: float = 30.0

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        query = parse_qs(parts.query)
        client: smtplib.SMTP
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(
                host, parts.port or 465, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, parts.port or 25, timeout=self.timeout)
        with client:
            if query.get("starttls", ["0"])[0] in {"1", "true", "yes"}:
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            to_addrs = [envelope_address(r) for r in recipients]
            if not all(r.isascii() for r in to_addrs):
                client.ehlo_or_helo_if_needed()
                if not client.has_extn("smtputf8"):
                    # RFC 6531: only an SMTPUTF8 relay can carry a non-ASCII mailbox. That
                    # will not change on a retry, so it is the recipient's refusal.
                    refusal = (553, b"5.6.7 relay does not support SMTPUTF8 for this mailbox")
                    raise smtplib.SMTPRecipientsRefused(dict.fromkeys(to_addrs, refusal))
            client.send_message(message, from_addr=envelope_address(sender), to_addrs=to_addrs)


@dataclass(frozen=True, slots=True)
class BlobTransport:
    """Stores each message as ``sent-mail/<time>-<random>.eml`` in the blob store."""

    blobs: BlobStore

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        self.blobs.put(f"{SENT_MAIL}/{stamp}-{uuid.uuid4().hex[:8]}.eml", bytes(message))


SENT_MAIL = "sent-mail"


def mail_transport(settings: Settings) -> MailTransport:
    """The relay the settings name, else the blob store every host shares."""
    if settings.outbound_smtp_url:
        return SmtpTransport(settings.outbound_smtp_url)
    return BlobTransport(blob_store_for(settings))


def new_message_id(secret: bytes, domain: str, ticket_number: int) -> str:
    """A signed Message-ID: a reply naming it threads to the ticket from any sender."""
    return signed_message_id(secret, ticket_number, uuid.uuid4().hex[:16], domain)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    ticket_number: int
    to_address: str
    to_name: str
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    message_id: str
    from_address: str
    from_name: str
    reply_to: str
    # The text the customer reads (from the acknowledgement templates).
    body: str = ""


def build_acknowledgement(ack: Acknowledgement) -> EmailMessage:
    """The mail that tells a customer their ticket number, threaded onto their message."""
    tag = subject_tag(ack.ticket_number)
    original = ack.subject.strip() or "your message"
    message = new_message(ack.to_address)
    message["From"] = mailbox(ack.from_name, ack.from_address)
    message["To"] = mailbox(ack.to_name, ack.to_address)
    message["Subject"] = f"{tag} Re: {original}" if tag not in original else f"Re: {original}"
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = ack.message_id
    if ack.in_reply_to:
        message["In-Reply-To"] = ack.in_reply_to
        message["References"] = " ".join([*ack.references, ack.in_reply_to][-20:])
    # RFC 3834: mark it automatic so well-behaved responders do not answer it,
    # and ask Exchange not to send its own auto-replies back.
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    # A signed plus-address: the reply threads even if the subject and headers are lost.
    message["Reply-To"] = mailbox(ack.from_name, ack.reply_to)
    message.set_content(ack.body if ack.body.endswith("\n") else ack.body + "\n")
    return message

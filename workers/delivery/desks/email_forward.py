"""The email destination: forward the customer's mail to another desk's inbox.

``attach`` sends our cover note (ticket number, triage, the text) with the customer's
original attached as ``message/rfc822``; ``resend`` sends the original itself with its
headers, plus ``Resent-*`` headers (RFC 5322 3.6.6). Either way ``Reply-To`` is the
customer, so the desk's answer reaches them, and mail goes out through the process's
``MailTransport`` (``OMNIROUTE_OUTBOUND_SMTP_URL``, or ``.eml`` files).

Idempotency: the forward's Message-ID is derived from the delivery's idempotency key
(signed, so a forward that loops back to us is quarantined), so a desk that keeps one
ticket per Message-ID keeps one however often an ambiguous attempt is repeated. A
follow-up names the first forward in ``In-Reply-To``/``References`` so it threads
onto the same ticket at the desk. The recorded external id is the Message-ID the desk
received.
"""

from __future__ import annotations

import smtplib
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from channels.mail_headers import HEADER_CLASSES
from config.destinations import EmailDestination
from normalize.references import signed_message_id
from normalize.threadkeys import subject_tag
from workers.delivery.desks.base import AttemptResult, Outcome, result, truncate
from workers.delivery.desks.handoff import DeskContext, Handoff
from workers.delivery.planning import MESSAGE_APPENDED, TICKET_CREATED

EVENTS = frozenset({TICKET_CREATED, MESSAGE_APPENDED})
_RESENT = ("resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc")
_RESENT_ALL = (*_RESENT, "resent-bcc", "resent-message-id")
# Our signed Message-IDs are longer than 78 characters; the default policy would fold
# them in In-Reply-To/References as encoded words, which no desk could match. RFC 5322
# allows 998.
POLICY = policy.default.clone(max_line_length=998, header_factory=HEADER_CLASSES)


def send(context: DeskContext, destination: EmailDestination, handoff: Handoff) -> AttemptResult:
    """Hand the forward to the mail transport once; SMTP answers become outcomes."""
    started = time.monotonic()
    message, external_id = build_forward(context, destination, handoff)
    try:
        context.mail.send(message, context.from_address, [destination.to])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        outcome = Outcome.RETRY if any(400 <= c < 500 for c in codes) else Outcome.REJECTED
        error = f"relay refused {destination.to}: {_reply(exc.recipients)}"
        return result(outcome, error=error, started=started)
    except smtplib.SMTPResponseException as exc:
        code = int(exc.smtp_code)
        outcome = Outcome.REJECTED if 500 <= code < 600 else Outcome.RETRY
        detail = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        )
        error = truncate(f"SMTP {code} from relay: {detail}")
        return result(outcome, error=error, started=started)
    except (smtplib.SMTPException, OSError) as exc:
        error = truncate(f"mail transport failed: {type(exc).__name__}: {exc}")
        return result(Outcome.RETRY, error=error, started=started)
    return result(Outcome.DELIVERED, external_id=external_id, started=started)


def build_forward(
    context: DeskContext, destination: EmailDestination, handoff: Handoff
) -> tuple[EmailMessage, str]:
    """The mail to send and the Message-ID the desk will know it by."""
    nonce = handoff.idempotency_key.rsplit("-", 1)[-1][-32:]
    our_id = signed_message_id(context.signing_key, handoff.ticket_number, nonce, context.hostname)
    if destination.mode == "resend" and handoff.raw_message is not None:
        return _resend(context, destination, handoff, our_id)
    return _attach(context, destination, handoff, our_id), our_id


def _attach(
    context: DeskContext, destination: EmailDestination, handoff: Handoff, our_id: str
) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["From"] = formataddr((_via(context, handoff), context.from_address))
    message["To"] = destination.to
    _reply_to_customer(message, handoff)
    message["Subject"] = _tagged(handoff)
    message["Date"] = _now(context)
    message["Message-ID"] = our_id
    if handoff.parent_external_id:
        message["In-Reply-To"] = handoff.parent_external_id
        message["References"] = handoff.parent_external_id
    _mark(message, handoff)
    message.set_content(_cover_note(handoff))
    if handoff.raw_message is not None:
        message.add_attachment(message_from_bytes(handoff.raw_message, policy=policy.default))
    else:
        for attachment in handoff.sendable_attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(
                attachment.read(),
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
            )
    return message


def _resend(
    context: DeskContext, destination: EmailDestination, handoff: Handoff, our_id: str
) -> tuple[EmailMessage, str]:
    assert handoff.raw_message is not None
    original = message_from_bytes(handoff.raw_message, policy=POLICY)
    assert isinstance(original, EmailMessage)
    # One Resent- block only: smtplib refuses a message with two, and ours is the one
    # that explains this copy.
    for name in _RESENT_ALL:
        del original[name]
    resent = (
        f"Resent-From: {formataddr((_via(context, handoff), context.from_address))}\r\n"
        f"Resent-To: {destination.to}\r\n"
        f"Resent-Date: {_now(context)}\r\n"
        f"Resent-Message-ID: {our_id}\r\n"
    ).encode()
    message = message_from_bytes(resent + bytes(original), policy=POLICY)
    assert isinstance(message, EmailMessage)
    _reply_to_customer(message, handoff)
    if handoff.parent_external_id:
        references = str(message.get("References", "")).split()
        if handoff.parent_external_id not in references:
            del message["References"]
            message["References"] = " ".join([handoff.parent_external_id, *references][-20:])
    _mark(message, handoff)
    original_id = str(message.get("Message-ID", "")).strip()
    if not original_id:
        message["Message-ID"] = our_id
        original_id = our_id
    return message, original_id


def _cover_note(handoff: Handoff) -> str:
    lines = [
        f"Ticket #{handoff.ticket_number} from {handoff.customer_label}",
        f"Category: {handoff.category or '-'}   Priority: {handoff.priority or '-'}   "
        f"Team: {handoff.team or '-'}",
    ]
    if handoff.event == MESSAGE_APPENDED:
        lines[0] = f"Follow-up on ticket #{handoff.ticket_number} from {handoff.customer_label}"
    lines += [
        "Replies to this mail go to the customer (Reply-To).",
        "",
        handoff.body_text or "(no text)",
    ]
    lines += handoff.unforwarded_notes()
    return "\n".join(lines) + "\n"


def _mark(message: EmailMessage, handoff: Handoff) -> None:
    del message["X-Omniroute-Ticket"]
    del message["X-Omniroute-Event"]
    message["X-Omniroute-Ticket"] = str(handoff.ticket_number)
    message["X-Omniroute-Event"] = handoff.event


def _tagged(handoff: Handoff) -> str:
    subject = (handoff.message_subject or handoff.subject).strip() or "(no subject)"
    tag = subject_tag(handoff.ticket_number)
    return subject if tag.lower() in subject.lower() else f"{tag} {subject}"


def _reply_to_customer(message: EmailMessage, handoff: Handoff) -> None:
    """Answers go to the customer; without an address for them, to nobody but the desk."""
    del message["Reply-To"]
    if handoff.customer_email:
        message["Reply-To"] = formataddr((handoff.customer_name, handoff.customer_email))


def _now(context: DeskContext) -> str:
    return format_datetime(datetime.fromtimestamp(context.clock(), UTC))


def _via(context: DeskContext, handoff: Handoff) -> str:
    who = handoff.customer_name.strip() or handoff.customer_email or "Customer"
    return f"{who} via {context.from_name}"


def _reply(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{code} {text.decode(errors='replace')}" for code, text in recipients.values()
    )

"""The ingest step: one stored inbound record becomes one message on one ticket.

Runs inside one transaction per inbound record, and is safe to run twice: a
record already processed is left alone, and the unique ``messages.inbound_id``
stops a second message should two workers race.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from ingest import outbox
from ingest.blobs import BlobStore, attachment_key, blob_store_for, put_once
from ingest.identity import customer_for, mark_bouncing
from ingest.models import Attachment, InboundRecord, Message, Ticket, utcnow
from ingest.status import change_status
from ingest.threading import (
    NEW_TICKET,
    SIGNED_ADDRESS,
    SIGNED_MESSAGE_ID,
    ThreadMatch,
    find_thread,
    ticket_by_message_id,
)
from normalize.bounce import Bounce, parse_bounce
from normalize.email import EmailLimits, parse_email
from normalize.errors import Unparseable
from normalize.references import ticket_from_message_id
from normalize.types import InboundMessage, ParsedInput

log = logging.getLogger(__name__)

PARSERS = {"email"}


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    status: str
    ticket_id: int | None = None
    message_id: int | None = None
    reason: str | None = None


def process_inbound(session: Session, inbound_id: int, settings: Settings) -> IngestOutcome:
    record = session.get(InboundRecord, inbound_id, with_for_update=True)
    if record is None:
        return IngestOutcome("missing", reason=f"no inbound record {inbound_id}")
    if record.status != "pending":
        return IngestOutcome(record.status, reason="already handled")

    try:
        parsed = _parse(record, settings)
    except Unparseable as exc:
        return _finish(record, "quarantined", exc.reason)

    msg = parsed.message
    duplicate_of = _already_stored(session, msg)
    if duplicate_of is not None:
        return _finish(record, "duplicate", f"same message as stored message {duplicate_of}")

    secret = settings.signing_key
    if ticket_from_message_id(secret, msg.external_id) is not None:
        # One of our own messages came back (a forwarding loop, a misconfigured alias).
        return _finish(record, "quarantined", "our own outbound message came back (mail loop)")

    bounce = (
        parse_bounce(record.raw, exclude=frozenset(settings.recipients))
        if msg.is_automated
        else None
    )
    recipients = [*record.envelope.get("rcpt_tos", []), *(a.email for a in msg.recipients)]
    _store_attachments(parsed, blob_store_for(settings))
    if bounce is not None:
        return _attach_bounce(session, record, parsed, bounce, secret=secret, recipients=recipients)

    customer = customer_for(session, "email", msg.sender.email, msg.sender.name)
    match = find_thread(session, msg, customer.id, secret=secret, recipients=recipients)
    if msg.is_automated and match.ticket is not None:
        # An out-of-office or other auto-reply is a note: no reopen, no triage, no reply.
        note = _add_message(session, match.ticket, record, parsed, match, kind="auto-reply")
        _finish(record, "processed", None)
        return IngestOutcome("processed", ticket_id=match.ticket.id, message_id=note.id)

    ticket = _ticket_for(session, match, msg, customer.id, settings)
    message = _add_message(session, ticket, record, parsed, match)

    if match.ticket is None or match.ticket.id != ticket.id:
        outbox.add_work(session, outbox.TRIAGE, ticket_id=ticket.id)
        outbox.add_work(session, outbox.ACKNOWLEDGE, ticket_id=ticket.id)
    else:
        # A customer message on an existing ticket follows it to where it was handed off.
        outbox.add_work(session, outbox.FOLLOW_UP, ticket_id=ticket.id, message_id=message.id)
    ticket.updated_at = utcnow()
    outcome = _finish(record, "processed", None)
    log.info(
        "inbound %s -> ticket #%s message %s (%s)", record.id, ticket.id, message.id, match.signal
    )
    return IngestOutcome(outcome.status, ticket_id=ticket.id, message_id=message.id)


def _attach_bounce(
    session: Session,
    record: InboundRecord,
    parsed: ParsedInput,
    bounce: Bounce,
    *,
    secret: bytes,
    recipients: list[str],
) -> IngestOutcome:
    """A bounce is a note on the ticket of the message that bounced; the address is marked."""
    if bounce.permanent:
        mark_bouncing(session, bounce.failed_recipients, bounce.status, bounce.diagnostic)
    ticket = None
    if bounce.original_message_id:
        number = ticket_from_message_id(secret, bounce.original_message_id)
        ticket = session.get(Ticket, number) if number is not None else None
        if ticket is None:
            ticket = ticket_by_message_id(session, bounce.original_message_id)
    if ticket is None:
        match = find_thread(session, parsed.message, -1, secret=secret, recipients=recipients)
        ticket = match.ticket if match.signal in {SIGNED_ADDRESS, SIGNED_MESSAGE_ID} else None
    if ticket is None:
        failed = ", ".join(bounce.failed_recipients) or "unknown recipients"
        return _finish(record, "quarantined", f"bounce for {failed} matches no ticket")
    detail = f"bounce {bounce.status or ''} for {', '.join(bounce.failed_recipients)}".strip()
    match = ThreadMatch(ticket, "bounce", detail)
    note = _add_message(session, ticket, record, parsed, match, kind="bounce")
    _finish(record, "processed", None)
    return IngestOutcome("processed", ticket_id=ticket.id, message_id=note.id)


def _parse(record: InboundRecord, settings: Settings) -> ParsedInput:
    if record.channel not in PARSERS:
        raise Unparseable(f"no parser for channel {record.channel!r}")
    limits = EmailLimits(
        max_attachment_bytes=settings.max_attachment_bytes,
        max_total_attachment_bytes=settings.max_total_attachment_bytes,
    )
    # An empty SMTP envelope sender (MAIL FROM:<>) marks a bounce (RFC 5321 4.5.5);
    # keep it distinct from "no envelope" (the MTA pipe).
    mail_from = record.envelope.get("mail_from")
    return parse_email(
        record.raw, envelope_sender=None if mail_from is None else str(mail_from), limits=limits
    )


def _already_stored(session: Session, msg: InboundMessage) -> int | None:
    """The same Message-ID from the same sender already on a ticket (e.g. SMTP and IMAP)."""
    if msg.message_id is None:
        return None
    return session.execute(
        select(Message.id).where(
            Message.message_id_header == msg.message_id,
            Message.direction == "inbound",
            Message.sender == msg.sender.email,
        )
    ).scalar_one_or_none()


def _ticket_for(
    session: Session, match: ThreadMatch, msg: InboundMessage, customer_id: int, settings: Settings
) -> Ticket:
    ticket = match.ticket
    if ticket is not None and ticket.status == "closed":
        closed_at = ticket.closed_at or ticket.updated_at
        if utcnow() - closed_at <= timedelta(days=settings.reopen_window_days):
            change_status(session, ticket, "open", "the customer replied")
            return ticket
        return _new_ticket(session, msg, customer_id, linked=ticket.id)
    if ticket is not None and ticket.status in {"pending", "solved"}:
        change_status(session, ticket, "open", "the customer replied")
    if ticket is not None:
        return ticket
    return _new_ticket(session, msg, customer_id, linked=None)


def _new_ticket(
    session: Session, msg: InboundMessage, customer_id: int, linked: int | None
) -> Ticket:
    ticket = Ticket(
        status="new",
        channel=msg.channel.value,
        customer_id=customer_id,
        subject=msg.subject[:1000],
        linked_ticket_id=linked,
    )
    session.add(ticket)
    session.flush()
    return ticket


def _add_message(
    session: Session,
    ticket: Ticket,
    record: InboundRecord,
    parsed: ParsedInput,
    match: ThreadMatch,
    *,
    kind: str = "message",
) -> Message:
    msg = parsed.message
    signal = match.signal
    detail = match.detail
    if match.ticket is not None and match.ticket.id != ticket.id:
        signal, detail = NEW_TICKET, f"{match.signal} matched closed ticket #{match.ticket.id}"
    recipients = record.envelope.get("rcpt_tos") or [a.email for a in msg.recipients]
    message = Message(
        ticket_id=ticket.id,
        inbound_id=record.id,
        direction="inbound",
        kind=kind,
        channel=msg.channel.value,
        external_id=msg.external_id,
        message_id_header=msg.message_id,
        sender=msg.sender.email,
        recipient=str(recipients[0]).lower() if recipients else None,
        subject=msg.subject,
        body_text=msg.body_text,
        body_full=msg.body_full,
        body_html=msg.body_html,
        auto_reasons=list(msg.auto_reasons),
        warnings=list(msg.warnings),
        thread_signal=signal,
        thread_detail=detail,
        created_at=record.received_at,
    )
    session.add(message)
    session.flush()
    for info in msg.attachments:
        session.add(
            Attachment(
                message_id=message.id,
                filename=info.filename,
                content_type=info.content_type,
                size=info.size,
                sha256=info.sha256,
                content_id=info.content_id,
                inline=info.inline,
                refused_reason=info.refused_reason,
            )
        )
    return message


def _store_attachments(parsed: ParsedInput, blobs: BlobStore) -> None:
    """Write accepted attachment bytes; content-addressed, so a rerun rewrites nothing.

    A store that cannot be reached raises ``BlobUnavailable``: the ingest is retried,
    and the message is not stored without its attachments.
    """
    for info in parsed.message.attachments:
        payload = parsed.payloads.get(info.sha256)
        if payload is not None and info.refused_reason is None:
            put_once(blobs, attachment_key(info.sha256), payload)


def _finish(record: InboundRecord, status: str, reason: str | None) -> IngestOutcome:
    record.status = status
    record.status_reason = reason
    record.processed_at = utcnow()
    if status == "quarantined":
        log.warning("inbound %s quarantined: %s", record.id, reason)
    return IngestOutcome(status, reason=reason)

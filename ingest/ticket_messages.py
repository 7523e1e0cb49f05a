"""The store steps every channel's ingest shares: a message on a ticket, its attachments,
and the inbound record's final state."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ingest.blobs import BlobStore, attachment_key, put_once
from ingest.envelope import text_list
from ingest.models import Attachment, InboundRecord, Message, Ticket, utcnow
from ingest.rows import insert_loaded, update_loaded
from ingest.threading import NEW_TICKET, ThreadMatch
from normalize.types import ParsedInput

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    status: str
    ticket_id: int | None = None
    message_id: int | None = None
    reason: str | None = None
    # The ticket as the session holds it, where the step kept it: a caller reading it
    # next finds it there instead of loading it again.
    ticket: Ticket | None = field(default=None, compare=False, repr=False)


def add_message(
    session: Session,
    ticket: Ticket,
    record: InboundRecord,
    parsed: ParsedInput,
    match: ThreadMatch,
    *,
    kind: str = "message",
    identity_id: int | None = None,
) -> Message:
    """The inbound message on ``ticket``, with the signal that threaded it."""
    msg = parsed.message
    signal = match.signal
    detail = match.detail
    if match.ticket is not None and match.ticket.id != ticket.id:
        signal, detail = NEW_TICKET, f"{match.signal} matched closed ticket #{match.ticket.id}"
    recipients = text_list(record.envelope, "rcpt_tos") or [a.email for a in msg.recipients]
    message = insert_loaded(
        session,
        Message,
        {
            "ticket_id": ticket.id,
            "inbound_id": record.id,
            "direction": "inbound",
            "kind": kind,
            "channel": str(msg.channel),
            "external_id": msg.external_id,
            "message_id_header": msg.message_id,
            "in_reply_to": msg.in_reply_to[0] if msg.in_reply_to else None,
            "sender": msg.sender.value,
            "sender_kind": msg.sender.kind.value,
            "identity_id": identity_id,
            "recipient": str(recipients[0]).lower() if recipients else None,
            "conversation_key": msg.conversation_key,
            "subject": msg.subject,
            "body_text": msg.body_text,
            "body_full": msg.body_full,
            "body_html": msg.body_html,
            "auto_reasons": list(msg.auto_reasons),
            "warnings": list(msg.warnings),
            "thread_signal": signal,
            "thread_detail": detail,
            "created_at": record.received_at,
        },
    )
    # Loaded with the message, so later readers of ``message.attachments`` (triage's
    # facts) need no query.
    attachments = [
        insert_loaded(
            session,
            Attachment,
            {
                "message_id": message.id,
                "filename": info.filename,
                "content_type": info.content_type,
                "size": info.size,
                "sha256": info.sha256,
                "content_id": info.content_id,
                "inline": info.inline,
                "refused_reason": info.refused_reason,
            },
        )
        for info in msg.attachments
    ]
    set_committed_value(message, "attachments", attachments)
    return message


def store_attachments(parsed: ParsedInput, blobs: BlobStore) -> None:
    """Write accepted attachment bytes; content-addressed, so a rerun rewrites nothing.

    A store that cannot be reached raises ``BlobUnavailable``: the ingest is retried,
    and the message is not stored without its attachments.
    """
    for info in parsed.message.attachments:
        payload = parsed.payloads.get(info.sha256)
        if payload is not None and info.refused_reason is None:
            put_once(blobs, attachment_key(info.sha256), payload)


def finish(record: InboundRecord, status: str, reason: str | None) -> IngestOutcome:
    """Close the inbound record: processed, duplicate, ignored or quarantined (with why)."""
    update_loaded(record, {"status": status, "status_reason": reason, "processed_at": utcnow()})
    if status == "quarantined":
        log.warning("inbound %s quarantined: %s", record.id, reason)
    return IngestOutcome(status, reason=reason)


def envelope_recipients(record: InboundRecord, parsed: ParsedInput) -> list[str]:
    """Where the message was sent: the edge's envelope recipients, then its own list."""
    return [
        *text_list(record.envelope, "rcpt_tos"),
        *(a.email for a in parsed.message.recipients),
    ]

"""The email part of ingest: what only mail needs before threading.

A message already stored under the same Message-ID (SMTP and IMAP both saw it),
our own mail coming back (a forwarding loop), and bounces, which are notes on
the ticket of the message that bounced and mark the address.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from config.settings import Settings
from ingest.blobs import blob_store_for
from ingest.identity import mark_bouncing
from ingest.models import InboundRecord, Message, Ticket, utcnow
from ingest.raw_inputs import raw_bytes
from ingest.signals import Defer
from ingest.threading import (
    SIGNED_ADDRESS,
    SIGNED_MESSAGE_ID,
    ThreadMatch,
    find_thread,
    ticket_by_message_id,
)
from ingest.ticket_messages import IngestOutcome, add_message, envelope_recipients, finish
from normalize.bounce import Bounce, parse_bounce
from normalize.dedupe import email_dedupe_key_for
from normalize.references import ticket_from_message_id
from normalize.types import InboundMessage, ParsedInput

# Run for every message: built once, with bound parameters (building one costs more
# than running it).
_SAME_MESSAGE = select(Message.id).where(
    Message.message_id_header == bindparam("message_id"),
    Message.direction == "inbound",
    Message.sender == bindparam("sender"),
)
_PENDING_PARENT = (
    select(InboundRecord.id)
    .where(
        InboundRecord.dedupe_key.in_(bindparam("keys", expanding=True)),
        InboundRecord.status == "pending",
        InboundRecord.id != bindparam("inbound_id"),
    )
    .limit(1)
)


def before_thread(
    session: Session, record: InboundRecord, parsed: ParsedInput, settings: Settings
) -> IngestOutcome | None:
    """Finish the record here (duplicate, loop, bounce) or return None to go on."""
    msg = parsed.message
    duplicate_of = _already_stored(session, msg)
    if duplicate_of is not None:
        return finish(record, "duplicate", f"same message as stored message {duplicate_of}")
    secret = settings.signing_key
    if ticket_from_message_id(secret, msg.external_id) is not None:
        # One of our own messages came back (a forwarding loop, a misconfigured alias).
        return finish(record, "quarantined", "our own outbound message came back (mail loop)")
    _wait_for_original(session, record, msg, settings.thread_wait_seconds)
    if not msg.is_automated:
        return None
    raw = raw_bytes(record, blob_store_for(settings))
    bounce = parse_bounce(raw, exclude=frozenset(settings.recipients))
    if bounce is None:
        return None
    return _attach_bounce(session, record, parsed, bounce, settings)


def _wait_for_original(
    session: Session, record: InboundRecord, msg: InboundMessage, wait_seconds: float
) -> None:
    """Raise ``Defer`` while a message this one answers is stored but not yet processed.

    Bounded: a record older than ``wait_seconds`` threads as if alone (its original
    may be quarantined or failing), and the original, when it comes, joins it.
    """
    parents = [*msg.in_reply_to, *msg.references]
    if not parents or utcnow() - record.received_at > timedelta(seconds=wait_seconds):
        return
    keys = [email_dedupe_key_for(p) for p in parents[:50]]
    pending = session.execute(
        _PENDING_PARENT, {"keys": keys, "inbound_id": record.id}
    ).scalar_one_or_none()
    if pending is not None:
        raise Defer(1.0, f"waits for inbound {pending}, which it answers")


def _already_stored(session: Session, msg: InboundMessage) -> int | None:
    """The same Message-ID from the same sender already on a ticket (e.g. SMTP and IMAP)."""
    if msg.message_id is None:
        return None
    found = session.execute(
        _SAME_MESSAGE, {"message_id": msg.message_id, "sender": msg.sender.value}
    )
    return found.scalar_one_or_none()


def _attach_bounce(
    session: Session,
    record: InboundRecord,
    parsed: ParsedInput,
    bounce: Bounce,
    settings: Settings,
) -> IngestOutcome:
    """A bounce is a note on the ticket of the message that bounced; the address is marked."""
    secret = settings.signing_key
    if bounce.permanent:
        mark_bouncing(session, bounce.failed_recipients, bounce.status, bounce.diagnostic)
    ticket = None
    if bounce.original_message_id:
        number = ticket_from_message_id(secret, bounce.original_message_id)
        ticket = session.get(Ticket, number) if number is not None else None
        if ticket is None:
            ticket = ticket_by_message_id(session, bounce.original_message_id)
    if ticket is None:
        recipients = envelope_recipients(record, parsed)
        match = find_thread(session, parsed.message, -1, secret=secret, recipients=recipients)
        ticket = match.ticket if match.signal in {SIGNED_ADDRESS, SIGNED_MESSAGE_ID} else None
    if ticket is None:
        failed = ", ".join(bounce.failed_recipients) or "unknown recipients"
        return finish(record, "quarantined", f"bounce for {failed} matches no ticket")
    detail = f"bounce {bounce.status or ''} for {', '.join(bounce.failed_recipients)}".strip()
    note = add_message(
        session, ticket, record, parsed, ThreadMatch(ticket, "bounce", detail), kind="bounce"
    )
    finish(record, "processed", None)
    return IngestOutcome("processed", ticket_id=ticket.id, message_id=note.id)

"""The ingest step: one stored inbound record becomes one message on one ticket.

Runs inside one transaction per inbound record, and is safe to run twice: a
record already processed is left alone, and the unique ``messages.inbound_id``
stops a second message should two workers race. The path is the same for every
channel: the channel's parser (``normalize.parsers``), its own steps before
threading (``ingest.channel_steps``), then identity, threading, ticket, message
and the work that follows.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from config.logs import log_context
from config.settings import Settings
from ingest import channel_steps
from ingest.blobs import blob_store_for
from ingest.events import record_event
from ingest.identity import link_claims, sender_for
from ingest.models import InboundRecord, Message, Ticket, utcnow
from ingest.queued_work import QueuedWork
from ingest.raw_inputs import raw_bytes
from ingest.rows import insert_loaded, read_locked, update_loaded
from ingest.status import change_status
from ingest.threading import ConversationWindow, ThreadMatch, find_thread
from ingest.ticket_messages import (
    IngestOutcome,
    add_message,
    envelope_recipients,
    finish,
    store_attachments,
)
from normalize.errors import Unparseable
from normalize.parsers import parse_record
from normalize.types import AuthorRole, InboundMessage, ParseContext, ParsedInput

log = logging.getLogger(__name__)

AGENT_MESSAGE = "agent-message"

__all__ = ["Continuation", "IngestOutcome", "parse_context", "process_inbound", "process_record"]


class Continuation(Protocol):
    """What the shell does next inside the same unit of work, instead of queueing it:
    triage and the acknowledgement's plan for a new ticket (opened by ``first``, the
    message just stored), follow-ups for a message on an existing one. Without one,
    ingest queues that work in the outbox (:class:`ingest.queued_work.QueuedWork`)."""

    def ticket_opened(self, session: Session, ticket: Ticket, first: Message) -> None: ...

    def message_added(self, session: Session, ticket: Ticket, message: Message) -> None: ...


def parse_context(settings: Settings) -> ParseContext:
    return ParseContext(
        max_attachment_bytes=settings.max_attachment_bytes,
        max_total_attachment_bytes=settings.max_total_attachment_bytes,
        default_region=settings.default_phone_region,
    )


def process_inbound(
    session: Session, inbound_id: int, settings: Settings, then: Continuation | None = None
) -> IngestOutcome:
    record = read_locked(session, InboundRecord, inbound_id)
    if record is None:
        return IngestOutcome("missing", reason=f"no inbound record {inbound_id}")
    return process_record(session, record, settings, then)


def process_record(
    session: Session, record: InboundRecord, settings: Settings, then: Continuation | None = None
) -> IngestOutcome:
    """:func:`process_inbound` on a record the caller has read (locked) itself, and keeps:
    the session holds its objects only while something refers to them."""
    if record.status != "pending":
        return IngestOutcome(record.status, reason="already handled")
    with log_context(channel=record.channel, inbound_id=record.id):
        return _process(session, record, settings, then)


def _process(
    session: Session, record: InboundRecord, settings: Settings, then: Continuation | None
) -> IngestOutcome:
    try:
        # A missing blob raises ``BlobMissing`` (recorded as a failure of this stage,
        # replayable once the blob is back); an unreachable store ``BlobUnavailable``.
        raw = raw_bytes(record, blob_store_for(settings))
        parsed = parse_record(record.channel, raw, record.envelope, parse_context(settings))
    except Unparseable as exc:
        return finish(record, "quarantined", exc.reason)

    parsed = channel_steps.enrich(session, record, parsed, settings)
    store_attachments(parsed, blob_store_for(settings))
    early = channel_steps.before_thread(session, record, parsed, settings)
    if early is not None:
        return early

    msg = parsed.message
    sender = sender_for(session, msg.sender, claims=msg.also_known_as)
    match = find_thread(
        session,
        msg,
        sender.customer.id,
        secret=settings.signing_key,
        recipients=envelope_recipients(record, parsed),
        window=ConversationWindow(settings.conversation_windows.get(str(msg.channel))),
    )
    identity_id = sender.identity.id
    if msg.author_role is AuthorRole.AGENT:
        return _agent_message(session, record, parsed, match, identity_id=identity_id, then=then)
    if msg.is_automated and match.ticket is not None:
        # An out-of-office or other auto-reply is a note: no reopen, no triage, no reply.
        note = add_message(
            session, match.ticket, record, parsed, match, kind="auto-reply", identity_id=identity_id
        )
        finish(record, "processed", None)
        return IngestOutcome("processed", ticket_id=match.ticket.id, message_id=note.id)

    ticket = _ticket_for(session, match, msg, sender.customer.id, settings)
    message = add_message(session, ticket, record, parsed, match, identity_id=identity_id)
    link_claims(session, sender, msg.also_known_as, ticket)

    if match.ticket is None or match.ticket.id != ticket.id:
        # A new ticket: its updated_at is its creation, moments ago.
        (then or QueuedWork()).ticket_opened(session, ticket, message)
    else:
        update_loaded(ticket, {"updated_at": utcnow()})
        # A customer message on an existing ticket follows it to where it was handed off.
        _follow(session, ticket, message, then)
    outcome = finish(record, "processed", None)
    log.info(
        "inbound %s -> ticket #%s message %s (%s)", record.id, ticket.id, message.id, match.signal
    )
    return IngestOutcome(outcome.status, ticket_id=ticket.id, message_id=message.id, ticket=ticket)


def _agent_message(
    session: Session,
    record: InboundRecord,
    parsed: ParsedInput,
    match: ThreadMatch,
    *,
    identity_id: int,
    then: Continuation | None,
) -> IngestOutcome:
    """One of our own people wrote in the customer's conversation (a Slack thread reply).

    It joins the ticket as an agent's message (the first one stops the first-response
    clock), follows the ticket to its desks, and never opens a ticket of its own.
    """
    ticket = match.ticket
    if ticket is None:
        return finish(record, "ignored", "an agent's message outside any ticket's conversation")
    message = add_message(
        session, ticket, record, parsed, match, kind=AGENT_MESSAGE, identity_id=identity_id
    )
    now = utcnow()
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
    ticket.updated_at = now
    _follow(session, ticket, message, then)
    finish(record, "processed", None)
    return IngestOutcome("processed", ticket_id=ticket.id, message_id=message.id)


def _follow(session: Session, ticket: Ticket, message: Message, then: Continuation | None) -> None:
    (then or QueuedWork()).message_added(session, ticket, message)


def _ticket_for(
    session: Session, match: ThreadMatch, msg: InboundMessage, customer_id: int, settings: Settings
) -> Ticket:
    ticket = match.ticket
    if ticket is not None and ticket.status == "closed":
        closed_at = ticket.closed_at or ticket.updated_at
        if utcnow() - closed_at <= timedelta(days=settings.reopen_window_days):
            change_status(session, ticket, "open", "the customer replied")
            return ticket
        return _new_ticket(session, msg, customer_id, linked=ticket)
    if ticket is not None and ticket.status in {"pending", "solved"}:
        change_status(session, ticket, "open", "the customer replied")
    if ticket is not None:
        return ticket
    return _new_ticket(session, msg, customer_id, linked=match.previous)


def _new_ticket(
    session: Session, msg: InboundMessage, customer_id: int, linked: Ticket | None
) -> Ticket:
    ticket = insert_loaded(
        session,
        Ticket,
        {
            "status": "new",
            "channel": str(msg.channel),
            "customer_id": customer_id,
            "subject": msg.subject[:1000],
            "linked_ticket_id": linked.id if linked is not None else None,
        },
    )
    if linked is not None:
        record_event(session, linked, f"continued on ticket #{ticket.id}")
    return ticket

"""The ingest step, run inline on an accepted submission so the answer can name the ticket.

It is the worker's own step (:func:`ingest.pipeline.process_inbound`) on the same
record, in its own transaction after the accept committed: should it fail, the
record stays pending and the worker's ``ingest`` (queued by the accept) does it.
A submission seen before (a double click) finds the ticket it already made. In the
same transaction the form's tags join the ticket, before triage runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.db import unit_of_work
from ingest.models import InboundRecord, Message, Ticket
from ingest.pipeline import process_inbound
from ingest.signals import Defer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TicketView:
    number: int
    status: str


def ingest_now(
    sessions: sessionmaker[Session], settings: Settings, inbound_id: int
) -> TicketView | None:
    """The ticket the submission is on, or None when the worker must finish it."""
    try:
        with unit_of_work(sessions) as session:
            outcome = process_inbound(session, inbound_id, settings)
            return _ticket_of(session, inbound_id, outcome.message_id)
    except Defer as signal:
        # Not a failure: the worker's ingest (queued by the accept) waits and does it.
        log.info("inline ingest of inbound %s deferred: %s", inbound_id, signal.reason)
        return None
    except Exception:
        # The record is committed and its ingest work queued: the worker retries it.
        log.exception("inline ingest of inbound %s failed; left to the worker", inbound_id)
        return None


def _ticket_of(session: Session, inbound_id: int, message_id: int | None) -> TicketView | None:
    # Just processed: the rows are in the session already. Seen before: look it up.
    message = (
        session.get(Message, message_id)
        if message_id is not None
        else session.execute(
            select(Message).where(Message.inbound_id == inbound_id)
        ).scalar_one_or_none()
    )
    if message is None:
        return None
    ticket = session.get(Ticket, message.ticket_id)
    assert ticket is not None
    record = session.get(InboundRecord, inbound_id)
    assert record is not None
    envelope = record.envelope
    tags = [str(t) for t in envelope.get("tags", [])]
    if tags and not set(tags) <= set(ticket.tags):
        ticket.tags = [*ticket.tags, *(t for t in tags if t not in ticket.tags)]
    return TicketView(ticket.id, ticket.status)

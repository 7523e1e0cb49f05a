"""The ingest step, run inline on an accepted submission so the answer can name the ticket.

It is the worker's own step (:func:`ingest.pipeline.process_inbound`) on the same
record, in the accept's transaction, behind a savepoint when the caller asks for one:
should it fail (or wait for something, ``Defer``), the savepoint is rolled back, the
caller queues the worker's ``ingest`` instead and commits the raw submission all the
same. Without one, the caller undoes its transaction and tries again with one. A
submission seen before (a double click) finds the ticket it already made. In the same
transaction the form's tags join the ticket, before triage runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from ingest.db import TAKE_TURNS, is_store_trouble
from ingest.envelope import text_list
from ingest.models import InboundRecord, Message, Ticket
from ingest.pipeline import IngestOutcome, process_record
from ingest.queued_work import QueuedWork
from ingest.signals import Defer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TicketView:
    number: int
    status: str


@dataclass(frozen=True, slots=True)
class Inline:
    """What the inline ingest did: the ticket (if any), and whether the record is handled."""

    ticket: TicketView | None
    handled: bool


def ingest_now(
    session: Session,
    settings: Settings,
    inbound_id: int,
    written: InboundRecord | None,
    then: QueuedWork,
    *,
    savepoint: bool = True,
) -> Inline:
    """Ingest ``inbound_id`` inside the caller's transaction, behind a savepoint unless
    ``savepoint`` is False.

    ``written`` is the record when the caller wrote it in this transaction (nothing
    to read, and no one else can see it yet). ``then`` gathers the work that follows
    for the caller to write. ``handled`` is False when the worker must do it: the
    savepoint was rolled back, nothing but what the caller wrote before is left in the
    transaction, and nothing of it is in ``then``.

    Without ``savepoint`` the ingest runs straight in the caller's transaction and
    whatever stops it (a bug, ``Defer``) is raised: the caller must undo the whole
    transaction, and may store the post again with a savepoint."""
    if not savepoint:
        return _ingested(session, inbound_id, written, settings, then)
    mark = then.mark()
    try:
        with session.begin_nested():
            return _ingested(session, inbound_id, written, settings, then)
    except Defer as signal:
        # Not a failure: the worker's ingest (queued by the caller) waits and does it.
        log.info("inline ingest of inbound %s deferred: %s", inbound_id, signal.reason)
    except Exception as exc:
        if is_store_trouble(exc):
            raise  # the whole post fails: nothing stored, the customer is asked to retry
        # The record is committed with the caller's transaction and its ingest queued.
        log.exception("inline ingest of inbound %s failed; left to the worker", inbound_id)
    then.drop_since(mark)
    return Inline(None, handled=False)


def _ingested(
    session: Session,
    inbound_id: int,
    written: InboundRecord | None,
    settings: Settings,
    then: QueuedWork,
) -> Inline:
    # Read here and kept, so the tags below need not read it again.
    record = written or session.get(InboundRecord, inbound_id, with_for_update=TAKE_TURNS)
    if record is None:
        return Inline(None, handled=True)
    outcome = process_record(session, record, settings, then)
    return Inline(_ticket_of(session, record, outcome), handled=True)


def _ticket_of(
    session: Session, record: InboundRecord, outcome: IngestOutcome
) -> TicketView | None:
    # Just processed: the outcome holds the ticket. Seen before: look up the ticket
    # its message is on.
    ticket = outcome.ticket
    if ticket is None:
        ticket_id = outcome.ticket_id
        if ticket_id is None:
            ticket_id = session.execute(
                select(Message.ticket_id).where(Message.inbound_id == record.id)
            ).scalar_one_or_none()
            if ticket_id is None:
                return None
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
    tags = text_list(record.envelope, "tags")
    if tags and not set(tags) <= set(ticket.tags):
        ticket.tags = [*ticket.tags, *(t for t in tags if t not in ticket.tags)]
    return TicketView(ticket.id, ticket.status)

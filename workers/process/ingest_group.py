"""Group processing: the ingest worker takes more waiting records into its transaction.

While mail arrives faster than one record's unit of work, the records the relay has
not handed to the broker yet are taken straight from the store, oldest first, and
processed in the same transaction as the one the broker delivered: one commit, no
relay pass and no broker round trip for them. Each runs in a savepoint of its own,
so one record's trouble spoils none of the others:

- a record that must wait (``Defer``) is queued again with its delay, as alone;
- a bug rolls back only its savepoint and leaves its outbox row to the relay, so it
  runs on its own and the bug is recorded under its stage there;
- the store failing fails the whole transaction, and every row is the relay's again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from config.logs import log_context
from config.settings import Settings
from ingest import outbox
from ingest.db import is_store_trouble
from ingest.pipeline import process_inbound
from ingest.signals import Defer
from workers.process.continuation import RouteInline

log = logging.getLogger(__name__)


def ingest_waiting(session: Session, settings: Settings, then: RouteInline, limit: int) -> int:
    """Process up to ``limit`` waiting ingest rows in ``session``; returns how many."""
    if limit <= 0:
        return 0
    entries = outbox.take_due(session, outbox.INGEST, limit)
    for entry in entries:
        inbound_id = entry.payload["inbound_id"]
        with log_context(inbound_id=inbound_id):
            _ingest_one(session, settings, then, entry.id, inbound_id)
    return len(entries)


def _ingest_one(
    session: Session, settings: Settings, then: RouteInline, entry_id: int, inbound_id: int
) -> None:
    claimed = then.claimed if then.claimed is not None else []
    mark = len(claimed)
    try:
        with session.begin_nested():
            process_inbound(session, inbound_id, settings, then)
            outbox.mark_taken(session, entry_id)
    except Defer as signal:
        del claimed[mark:]
        requeue_deferred(session, inbound_id, signal)
        outbox.mark_taken(session, entry_id)
    except Exception as exc:
        if is_store_trouble(exc):
            raise
        del claimed[mark:]
        log.exception("inbound %s failed in a group; it runs again on its own", inbound_id)


def requeue_deferred(session: Session, inbound_id: int, signal: Defer) -> None:
    """Queue the record's ingest again, due after the wait ``signal`` asks for: not a
    failure, the record stays pending and comes back as new work."""
    delay = timedelta(seconds=signal.seconds)
    outbox.add_work(session, outbox.INGEST, delay=delay, inbound_id=inbound_id)
    log.info("inbound %s deferred: %s", inbound_id, signal.reason)

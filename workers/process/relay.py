"""The outbox relay: committed outbox rows become Dramatiq messages.

A pass claims due rows (marks them handed over) in a short transaction of its own,
hands each to the broker with no transaction open, then records the broker's message
ids and gives back the rows the broker did not take. On SQLite the write lock is the
whole store's: a pass that held it through a few hundred broker round trips kept
every edge's accept waiting behind it.

So a broker outage delays work and loses none: the rows it refused are due again at
once. A crash after the claim and before the broker took a message leaves the row
claimed (its message id ``outbox.RELAY_CLAIMED``); the scheduler's redelivery sweep
(``workers.process.redeliver``) makes it due again after ``outbox.RELAY_CLAIM_TIMEOUT``,
as it does after the whole redelivery timeout for work a broker lost after taking it.
A message sent twice is absorbed by the idempotent actors, and it carries the row's
id, so the actor can mark the work done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import dramatiq
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from ingest import outbox
from ingest.db import unit_of_work
from ingest.errors import StoreUnavailable
from ingest.models import OutboxEntry, utcnow
from workers.process.broker import QUEUE, broker_message_id

log = logging.getLogger(__name__)

BATCH = 200
# How long a woken relay lets further work arrive before its pass.
GATHER_SECONDS = 0.05


def relay_once(
    sessions: sessionmaker[Session],
    broker: dramatiq.Broker,
    only: Sequence[int] | None = None,
    queue: str = QUEUE,
) -> int:
    """Enqueue due outbox rows (or just ``only``); returns how many reached the broker."""
    claimed = claim_due(sessions, only)
    if not claimed:
        return 0
    handed_over: list[dict[str, object]] = []
    refused: list[int] = []
    for position, (entry_id, actor, payload) in enumerate(claimed):
        message: dramatiq.Message[object] = dramatiq.Message(
            queue_name=queue,
            actor_name=actor,
            args=(),
            kwargs=dict(payload),
            options={outbox.OUTBOX_ID: entry_id},
        )
        try:
            handed = broker.enqueue(message)
        except Exception as exc:  # any broker failure: the rest is due again at once
            log.warning("outbox relay: broker unavailable, will retry: %s", exc)
            refused = [row[0] for row in claimed[position:]]
            break
        handed_over.append({"entry": entry_id, "message": broker_message_id(handed)})
    with unit_of_work(sessions) as session:
        connection = session.connection()
        if handed_over:
            connection.execute(_RECORD_MESSAGE, handed_over)
        if refused:
            connection.execute(_GIVE_BACK, {"entries": refused})
    return len(handed_over)


def claim_due(
    sessions: sessionmaker[Session], only: Sequence[int] | None
) -> list[tuple[int, str, dict[str, Any]]]:
    """Mark up to ``BATCH`` due rows handed over, oldest first, and return them.

    On PostgreSQL several relays claim side by side: each skips the rows another one
    has locked, so no row is claimed twice."""
    due = (
        select(OutboxEntry.id)
        .where(OutboxEntry.enqueued_at.is_(None), OutboxEntry.not_before <= utcnow())
        .order_by(OutboxEntry.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    if only is not None:
        due = due.where(OutboxEntry.id.in_(list(only)))
    claim = (
        update(OutboxEntry)
        .where(OutboxEntry.id.in_(due.scalar_subquery()))
        .values(enqueued_at=utcnow(), broker_message_id=outbox.RELAY_CLAIMED)
        .returning(OutboxEntry.id, OutboxEntry.actor, OutboxEntry.payload)
    )
    with unit_of_work(sessions) as session:
        rows = session.connection().execute(claim).all()
    return sorted(((entry_id, actor, payload) for entry_id, actor, payload in rows), key=_first)


def _first(row: tuple[int, str, dict[str, Any]]) -> int:
    return row[0]


# Marked with one executemany each: loading the rows as objects and flushing their
# changes cost more than the statements.
_RECORD_MESSAGE = (
    update(OutboxEntry)
    .where(OutboxEntry.id == bindparam("entry"))
    .values(broker_message_id=bindparam("message"))
)
_GIVE_BACK = (
    update(OutboxEntry)
    .where(OutboxEntry.id.in_(bindparam("entries", expanding=True)))
    .values(enqueued_at=None, broker_message_id=None)
)


class RelayLoop:
    """Runs ``relay_once`` at start, then every ``interval`` seconds or, gathering for
    ``GATHER_SECONDS``, soon after ``signal`` is set."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        broker: dramatiq.Broker,
        interval: float,
        signal: threading.Event | None = None,
        queue: str = QUEUE,
    ) -> None:
        self.sessions = sessions
        self.broker = broker
        self.queue = queue
        self.interval = interval
        self.signal = signal or threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.signal.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # A pass at once: work committed while no relay ran is not left for the poll.
        while not self._stop.is_set():
            try:
                while relay_once(self.sessions, self.broker, queue=self.queue) == BATCH:
                    pass
            except StoreUnavailable as exc:
                log.warning("outbox relay: store unavailable: %s", exc)
            except Exception:
                log.exception("outbox relay pass failed")
            self.signal.wait(self.interval)
            # Woken by every commit, a busy relay would make a pass per input, each a
            # write transaction of its own; it takes what came in the last moment
            # together instead. A lone input waits this long, not a poll.
            self._stop.wait(GATHER_SECONDS)
            self.signal.clear()

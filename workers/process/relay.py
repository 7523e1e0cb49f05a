"""The outbox relay: committed outbox rows become Dramatiq messages.

A row is marked only after the broker took the message, so a broker outage
delays work and loses none; a crash between the two sends a message twice,
which the idempotent actors absorb. The message carries the row's id, so the
actor can mark the work done; work a broker lost after taking it is made due
again by the scheduler's redelivery sweep (``workers.process.redeliver``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

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
    handed_over: list[dict[str, object]] = []
    with unit_of_work(sessions) as session:
        query = (
            select(OutboxEntry.id, OutboxEntry.actor, OutboxEntry.payload)
            .where(OutboxEntry.enqueued_at.is_(None), OutboxEntry.not_before <= utcnow())
            .order_by(OutboxEntry.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        if only is not None:
            query = query.where(OutboxEntry.id.in_(list(only)))
        for entry_id, actor, payload in session.execute(query).all():
            message: dramatiq.Message[object] = dramatiq.Message(
                queue_name=queue,
                actor_name=actor,
                args=(),
                kwargs=dict(payload),
                options={outbox.OUTBOX_ID: entry_id},
            )
            try:
                handed = broker.enqueue(message)
            except Exception as exc:  # any broker failure: keep the row for the next pass
                log.warning("outbox relay: broker unavailable, will retry: %s", exc)
                break
            handed_over.append(
                {"entry": entry_id, "at": utcnow(), "message": broker_message_id(handed)}
            )
        if handed_over:
            session.connection().execute(_HANDED_OVER, handed_over)
    return len(handed_over)


# The rows are read as plain columns and marked with one executemany: loading them as
# objects and flushing their changes cost the unit of work more than the statements.
_HANDED_OVER = (
    update(OutboxEntry)
    .where(OutboxEntry.id == bindparam("entry"))
    .values(enqueued_at=bindparam("at"), broker_message_id=bindparam("message"))
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

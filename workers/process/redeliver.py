"""The redelivery sweep: work the broker was given and that is not done is given again.

The store, not the broker, is the truth (DESIGN.md, Deployment). A Redis restart
without persistence, a purged queue or a worker killed after its message was
acknowledged leave outbox rows handed over and never done. Every pass makes those
handed over more than ``OMNIROUTE_REDELIVER_AFTER_SECONDS`` ago due again, unless
the broker says it still holds their message (Redis can; then the work is only
waiting in a long queue and its clock restarts), and the relay sends them once
more; the actors are idempotent, so a message that was slow rather than lost
costs one run that changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import redis
from sqlalchemy.orm import Session, sessionmaker

from ingest import outbox
from ingest.db import unit_of_work
from workers.process.broker import held_messages
from workers.process.periodic import Periodic
from workers.process.runtime import Runtime

log = logging.getLogger(__name__)

BROKER_ERRORS = (redis.RedisError, OSError)

BATCH = 1000
# A pass every fifth of the timeout, at least every 30 s: overdue work waits at most
# about 1.2 timeouts.
MAX_INTERVAL_SECONDS = 30.0


def redeliver_overdue(
    sessions: sessionmaker[Session],
    after: timedelta,
    held: Callable[[list[str]], set[str]] | None = None,
) -> int:
    """One pass: make overdue work the broker no longer holds due again; returns how many."""
    total = 0
    while True:
        with unit_of_work(sessions) as session:
            ids = outbox.reset_overdue(session, after, limit=BATCH, held=held)
        total += len(ids)
        if len(ids) < BATCH:
            break
    if total:
        log.warning(
            "redelivery: %s piece(s) of work handed to the broker over %.0f s ago and not done "
            "(lost by the broker or a dead worker) are due again",
            total,
            after.total_seconds(),
        )
    return total


class RedeliveryLoop(Periodic):
    """Runs ``redeliver_overdue`` periodically; wakes the relay when it found work."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        after: timedelta,
        on_work: Callable[[], None] | None = None,
        held: Callable[[list[str]], set[str]] | None = None,
    ) -> None:
        # A broker that cannot be asked what it holds: look again next pass.
        interval = min(MAX_INTERVAL_SECONDS, max(0.05, after.total_seconds() / 5))
        super().__init__("redelivery", interval, outages={"broker": BROKER_ERRORS})
        self.sessions = sessions
        self.after = after
        self.held = held
        self.on_work = on_work

    def run_pass(self) -> None:
        found = redeliver_overdue(self.sessions, self.after, self.held)
        if found and self.on_work is not None:
            self.on_work()


@contextmanager
def redeliverer(runtime: Runtime) -> Iterator[RedeliveryLoop]:
    """Sweep for overdue work in the background while the block runs."""
    loop = RedeliveryLoop(
        runtime.sessions,
        timedelta(seconds=runtime.settings.redeliver_after_seconds),
        runtime.outbox_signal.set,
        held_messages(runtime.broker, runtime.queue),
    )
    loop.start()
    try:
        yield loop
    finally:
        loop.stop()

"""Count input refused at an edge, by channel and reason (refused input itself is not kept).

A flood of bad requests must not become one store write per request: each process
counts in memory (``REFUSALS``) and writes the sums now and then (every heartbeat,
and at shutdown), one transaction for every reason at once. A store that is down
keeps the sums for the next flush: the edge's answer never waits on them, and a
process that dies loses only what it had not flushed.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ingest.db import insert_ignoring_conflicts, unit_of_work
from ingest.models import RefusalCount, utcnow

log = logging.getLogger(__name__)

REASON_LENGTH = 64


def count_refusal(session: Session, channel: str, reason: str, count: int = 1) -> None:
    """Add ``count`` refusals of ``channel`` for ``reason`` to the store's totals."""
    now = utcnow()
    reason = reason[:REASON_LENGTH]
    session.execute(
        insert_ignoring_conflicts(session, RefusalCount).values(
            channel=channel, reason=reason, count=0, first_at=now, last_at=now
        )
    )
    session.execute(
        update(RefusalCount)
        .where(RefusalCount.channel == channel, RefusalCount.reason == reason)
        .values(count=RefusalCount.count + count, last_at=now)
    )


class RefusalTally:
    """Refusals counted in memory; ``flush`` adds them to the store in one transaction."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, channel: str, reason: str) -> None:
        with self._lock:
            self._counts[(channel, reason[:REASON_LENGTH])] += 1

    def pending(self) -> dict[tuple[str, str], int]:
        """What the next flush would write."""
        with self._lock:
            return dict(self._counts)

    def take(self) -> Counter[tuple[str, str]]:
        """The counts so far, leaving none behind (``flush`` writes what it takes)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts

    def flush(self, sessions: sessionmaker[Session]) -> int:
        """Write the counts so far; returns how many refusals were written.

        When the store cannot take them they are kept for the next flush (and the
        failure logged): counting never raises into the caller."""
        counts = self.take()
        if not counts:
            return 0
        try:
            with unit_of_work(sessions) as session:
                for (channel, reason), count in sorted(counts.items()):
                    count_refusal(session, channel, reason, count)
        except Exception as exc:
            with self._lock:
                self._counts.update(counts)
            log.warning(
                "%d refusals not written yet, kept for the next try: %s", total(counts), exc
            )
            return 0
        return total(counts)


def total(counts: Counter[tuple[str, str]]) -> int:
    return sum(counts.values())


# This process's refusals: every edge in it counts here, the heartbeat flushes them.
REFUSALS = RefusalTally()

"""Housekeeping: rows whose purpose is over, deleted once they are old enough.

Three kinds grow with traffic and are of no use after a while:

- done work in the outbox: the record that a hand-off, an acknowledgement or an
  ingest was carried out (work that failed with a bug is kept in ``failed_work``);
- refused form posts, kept so a false positive can be released; the monotonic count
  by reason lives apart (``refusal_counts``) and is not touched;
- rate buckets idle long enough to have filled up again: a missing bucket is made
  full, so deleting a full one changes nothing.

Tickets, messages, inbound records, deliveries and the audit rows are never pruned.
Rows go in chunks, each in a transaction of its own, so an edge never waits long for
SQLite's write lock behind a large first prune. The blob of a large refused post stays:
blobs are content-addressed and may be named by a later post as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from ingest.db import read_only, unit_of_work
from ingest.models import FormRefusal, OutboxEntry, RateBucket

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each kind is kept; None keeps it for ever."""

    done_work: timedelta | None
    refused_posts: timedelta | None
    # At least as long as the slowest bucket takes to fill up from empty.
    idle_buckets: timedelta


@dataclass(frozen=True, slots=True)
class Pruned:
    """Rows deleted (or, in a dry run, that would be) per kind."""

    done_work: int
    refused_posts: int
    idle_buckets: int

    @property
    def total(self) -> int:
        return self.done_work + self.refused_posts + self.idle_buckets


def prune(
    sessions: sessionmaker[Session],
    retention: Retention,
    now: datetime,
    *,
    dry_run: bool = False,
    chunk: int = CHUNK,
    stopping: Callable[[], bool] = lambda: False,
) -> Pruned:
    """Delete what ``retention`` no longer keeps at ``now``; count only with ``dry_run``.

    Between chunks, ``stopping`` may say the process is shutting down: the rest waits
    for the next pass. Raises ``StoreUnavailable`` when the store is down; the chunks
    deleted before stay deleted, and the next pass takes the rest."""
    kinds: dict[str, tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any], Any]] = {
        "done_work": (OutboxEntry.id, OutboxEntry.done_at, retention.done_work),
        "refused_posts": (FormRefusal.id, FormRefusal.created_at, retention.refused_posts),
        "idle_buckets": (RateBucket.key, RateBucket.updated_at, retention.idle_buckets),
    }
    found: dict[str, int] = {}
    for kind, (key, stamp, kept) in kinds.items():
        if kept is None:
            found[kind] = 0
        elif dry_run:
            found[kind] = _count(sessions, key, stamp < now - kept)
        else:
            found[kind] = _delete(sessions, key, stamp < now - kept, chunk, stopping)
    return Pruned(**found)


def _count(
    sessions: sessionmaker[Session], key: InstrumentedAttribute[Any], old: ColumnElement[bool]
) -> int:
    with read_only(sessions) as session:
        return int(session.execute(select(func.count(key)).where(old)).scalar_one())


def _delete(
    sessions: sessionmaker[Session],
    key: InstrumentedAttribute[Any],
    old: ColumnElement[bool],
    chunk: int,
    stopping: Callable[[], bool],
) -> int:
    """Delete the rows matching ``old``, ``chunk`` at a time in key order."""
    table = key.class_
    deleted = 0
    while True:
        with unit_of_work(sessions) as session:
            keys = session.execute(select(key).where(old).order_by(key).limit(chunk)).scalars()
            found = list(keys)
            if found:
                session.execute(delete(table).where(key.in_(found)))
        deleted += len(found)
        if len(found) < chunk or stopping():
            return deleted

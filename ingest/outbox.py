"""Outbox rows: work for an actor, committed with the change that caused it.

The row is the work's record of truth. The relay hands it to the broker with the
row's id in the message (``OUTBOX_ID``); the actor marks it done when it finished
(or recorded a bug); the scheduler hands it over again when it is not done
``redeliver_after`` after it was handed over, because the broker lost it or the
worker that took it died, and the broker no longer holds it (:func:`reset_overdue`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from ingest.direct_sql import run_many
from ingest.models import OutboxEntry, utcnow
from ingest.rows import insert_loaded

# Actor names, shared by the writers here and the actors in ``workers``.
INGEST = "ingest"
TRIAGE = "triage"
DELIVER = "deliver"
ACKNOWLEDGE = "acknowledge"
# Plan hand-offs of a customer message added to a ticket, or of a status change.
FOLLOW_UP = "follow_up"
STATUS_CHANGE = "status_change"
# Send an agent's reply to the customer on the ticket's channel.
SEND_REPLY = "send_reply"
ACTORS = (INGEST, TRIAGE, DELIVER, ACKNOWLEDGE, FOLLOW_UP, STATUS_CHANGE, SEND_REPLY)

# The broker message option that carries the outbox row's id to the actor.
OUTBOX_ID = "outbox_id"

# ``broker_message_id`` of a row a relay has claimed and not yet handed to the broker.
RELAY_CLAIMED = "claimed"
# A relay's claim this old was never handed over: the relay died in the middle of its
# pass. Its rows are due again this soon, not after the whole redelivery timeout.
RELAY_CLAIM_TIMEOUT = timedelta(seconds=30)


def not_handed_over() -> ColumnElement[bool]:
    """Rows waiting for the relay: never handed over, or claimed by a pass not finished
    (work a worker claimed for itself, or took into its group, is not waiting)."""
    return and_(
        OutboxEntry.done_at.is_(None),
        or_(OutboxEntry.enqueued_at.is_(None), OutboxEntry.broker_message_id == RELAY_CLAIMED),
    )


def add_work(
    session: Session,
    actor: str,
    *,
    delay: timedelta | None = None,
    claimed: bool = False,
    **payload: Any,
) -> OutboxEntry:
    """Queue ``actor(**payload)`` to run once the surrounding transaction commits.

    ``claimed``: the caller runs the work itself right after the commit, so the relay
    leaves the row alone; should the caller die first, the redelivery sweep finds the
    row not done and hands it to the broker (:func:`reset_overdue`), as it does for
    work a broker lost. A caller that cannot finish it gives it back (:func:`release`).
    """
    now = utcnow()
    not_before: datetime = now + delay if delay else now
    # Written at once, kept as loaded: the unit of work's flush cost more than the INSERT.
    return insert_loaded(
        session,
        OutboxEntry,
        {
            "actor": actor,
            "payload": payload,
            "created_at": now,
            "not_before": not_before,
            "enqueued_at": now if claimed else None,
        },
    )


def take_due(session: Session, actor: str, limit: int) -> list[OutboxEntry]:
    """Up to ``limit`` due rows of ``actor`` the relay has not handed over, oldest first,
    locked for this transaction (rows another transaction holds are skipped). The
    caller marks each one it finishes with :func:`mark_taken`; a row it does not, or
    all of them should the transaction roll back, stays the relay's."""
    return list(
        session.execute(
            # Not handed over means not done (as the relay reads it), so this uses the
            # relay's own index, which holds only such rows, not every row in flight.
            select(OutboxEntry)
            .where(
                OutboxEntry.enqueued_at.is_(None),
                OutboxEntry.not_before <= utcnow(),
                OutboxEntry.actor == actor,
            )
            .order_by(OutboxEntry.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )


def mark_taken(session: Session, entry_id: int) -> None:
    """Work taken from the store by the worker itself is done: neither the relay nor the
    redelivery sweep will hand it over."""
    session.connection().execute(_MARK_TAKEN, {"entry": entry_id, "at": utcnow()})


def add_each(session: Session, works: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Queue each ``(actor, payload)`` of ``works``, due now, in one statement."""
    if not works:
        return
    now = utcnow()
    run_many(
        session.connection(),
        _INSERT,
        [
            {"actor": actor, "payload": payload, "created_at": now, "not_before": now}
            for actor, payload in works
        ],
    )


# Run on the session's connection: a plain executemany, without the ORM's bulk path.
_INSERT = insert(OutboxEntry)


def release(session: Session, entry_id: int) -> None:
    """Give claimed work back to the relay, which hands it to the broker on its next pass."""
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id, OutboxEntry.done_at.is_(None))
        .values(enqueued_at=None)
    )


def mark_done(session: Session, entry_id: int) -> None:
    """Record that the work of outbox row ``entry_id`` is done (a second call changes nothing)."""
    session.connection().execute(_MARK_DONE, {"entry": entry_id, "at": utcnow()})


# Built once and run as plain Core, and nothing in the session reads ``done_at`` back:
# building, evaluating and synchronizing the statement on every call was a fourteenth of
# a worker's time. (Entries are written as they are added, so no flush need come first.)
_NOT_DONE = update(OutboxEntry).where(
    OutboxEntry.id == bindparam("entry"), OutboxEntry.done_at.is_(None)
)
_MARK_DONE = _NOT_DONE.values(done_at=bindparam("at"))
_MARK_TAKEN = _NOT_DONE.values(enqueued_at=bindparam("at"), done_at=bindparam("at"))


def reset_overdue(
    session: Session,
    after: timedelta,
    limit: int = 1000,
    held: Callable[[list[str]], set[str]] | None = None,
) -> list[int]:
    """Make work handed to the broker more than ``after`` ago and not done due again.

    ``held`` (when the broker can say) names the messages the broker still holds,
    queued or in a worker's hands: that work is only slow, and its clock restarts.
    The rest is due again and the relay hands it over once more; the actors are
    idempotent, so a message that was only slow, not lost, costs a run that changes
    nothing. Rows a relay claimed and never handed over (it died in its pass) are due
    again after ``RELAY_CLAIM_TIMEOUT`` already. Returns the ids made due again.
    """
    now = utcnow()
    relay_died = and_(
        OutboxEntry.broker_message_id == RELAY_CLAIMED,
        OutboxEntry.enqueued_at < now - min(after, RELAY_CLAIM_TIMEOUT),
    )
    rows = session.execute(
        select(OutboxEntry.id, OutboxEntry.broker_message_id)
        .where(
            OutboxEntry.done_at.is_(None), or_(OutboxEntry.enqueued_at < now - after, relay_died)
        )
        .order_by(OutboxEntry.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    handed = [m for _, m in rows if m and m != RELAY_CLAIMED]
    still_held = held(handed) if held is not None and handed else set()
    waiting = [entry_id for entry_id, message in rows if message in still_held]
    lost = [entry_id for entry_id, message in rows if message not in still_held]
    if waiting:
        session.execute(
            update(OutboxEntry).where(OutboxEntry.id.in_(waiting)).values(enqueued_at=now)
        )
    if lost:
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(lost))
            .values(enqueued_at=None, redeliveries=OutboxEntry.redeliveries + 1)
        )
    return lost

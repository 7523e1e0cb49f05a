"""Input and work that did not go through: list it, and replay it once the cause is fixed.

Two kinds, kept apart by fault (DESIGN.md contract 4):

- inbound records ``quarantined`` (the sender's input cannot be parsed, a mail loop,
  a bounce for no ticket) or ``failed`` (a bug while ingesting it), kept raw;
- ``failed_work``: a bug in a worker stage, with its payload and traceback.

Replaying puts the work back in the outbox, in the caller's transaction; the actors
are idempotent, so a replay of input that was meanwhile handled creates nothing
twice. These functions are the store side of ``omniroute inbound`` and
``omniroute failed``, and of any other view of failures (they return JSON-safe rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from config.statuses import InboundStatus
from ingest import outbox
from ingest.db import TAKE_TURNS
from ingest.models import AutomatedSend, Delivery, FailedWork, InboundRecord, Message, utcnow
from ingest.raw_inputs import raw_head, raw_size

INBOUND_STATUSES: tuple[str, ...] = tuple(status.value for status in InboundStatus)
REPLAYABLE = ("quarantined", "failed")
# Stages whose payload is an actor's arguments; others (``imap``) have no stored input.
RETRYABLE_STAGES = frozenset(outbox.ACTORS)
ACKNOWLEDGEMENT = "acknowledgement"


class NotReplayable(Exception):
    """The record or failure does not exist, or is not in a state that can be replayed."""


def list_inbound(
    session: Session, statuses: Sequence[str] = REPLAYABLE, limit: int = 50
) -> list[dict[str, Any]]:
    """Inbound records in ``statuses``, newest first."""
    rows = session.execute(
        select(InboundRecord)
        .where(InboundRecord.status.in_(list(statuses)))
        .order_by(InboundRecord.id.desc())
        .limit(limit)
    ).scalars()
    return [inbound_view(record) for record in rows]


def inbound_view(record: InboundRecord) -> dict[str, Any]:
    headers = _headers(raw_head(record)) if record.channel == "email" else {}
    return {
        "id": record.id,
        "channel": record.channel,
        "status": record.status,
        "reason": record.status_reason,
        "received_at": _iso(record.received_at),
        "processed_at": _iso(record.processed_at),
        "size": raw_size(record),
        "from": headers.get("from", ""),
        "subject": headers.get("subject", ""),
    }


def replay_inbound(session: Session, inbound_id: int) -> None:
    """Make a quarantined or failed record pending again and queue its ingest."""
    record = session.get(InboundRecord, inbound_id, with_for_update=TAKE_TURNS)
    if record is None:
        raise NotReplayable(f"no inbound record {inbound_id}")
    if record.status not in REPLAYABLE:
        raise NotReplayable(
            f"inbound {inbound_id} is {record.status}; only quarantined or failed input is replayed"
        )
    _requeue_inbound(session, record)
    now = utcnow()
    for failure in _unreplayed(session, outbox.INGEST):
        if failure.payload.get("inbound_id") == inbound_id:
            failure.replayed_at = now


def inbound_ids(session: Session, status: str) -> list[int]:
    """Ids of the records in ``status``, oldest first."""
    return list(
        session.execute(
            select(InboundRecord.id)
            .where(InboundRecord.status == status)
            .order_by(InboundRecord.id)
        ).scalars()
    )


def list_failed(
    session: Session, include_replayed: bool = False, limit: int = 50
) -> list[dict[str, Any]]:
    """Recorded bugs, newest first; those already retried only when asked."""
    query = select(FailedWork)
    if not include_replayed:
        query = query.where(FailedWork.replayed_at.is_(None))
    rows = session.execute(query.order_by(FailedWork.id.desc()).limit(limit)).scalars()
    return [failed_view(row) for row in rows]


def failed_view(row: FailedWork) -> dict[str, Any]:
    return {
        "id": row.id,
        "stage": row.stage,
        "payload": dict(row.payload),
        "error": row.error,
        "traceback": row.traceback,
        "created_at": _iso(row.created_at),
        "replayed_at": _iso(row.replayed_at),
        "retryable": row.stage in RETRYABLE_STAGES,
    }


def retry_failed(session: Session, failed_id: int) -> None:
    """Queue the failed stage's work again, first undoing what the bug marked failed."""
    failure = session.get(FailedWork, failed_id, with_for_update=True)
    if failure is None:
        raise NotReplayable(f"no failed work {failed_id}")
    if failure.replayed_at is not None:
        raise NotReplayable(f"failed work {failed_id} was retried at {_iso(failure.replayed_at)}")
    if failure.stage not in RETRYABLE_STAGES:
        raise NotReplayable(
            f"failed work {failed_id} ({failure.stage}) kept no input to run again: "
            f"{failure.payload}"
        )
    payload = dict(failure.payload)
    if failure.stage == outbox.INGEST:
        record = session.get(InboundRecord, payload["inbound_id"], with_for_update=TAKE_TURNS)
        if record is not None and record.status in REPLAYABLE:
            _requeue_inbound(session, record)
    else:
        _undo_failed_marks(session, failure.stage, payload)
        outbox.add_work(session, failure.stage, **payload)
    failure.replayed_at = utcnow()


def retryable_failed_ids(session: Session) -> list[int]:
    """Ids of the recorded bugs not retried yet whose work can run again, oldest first."""
    return list(
        session.execute(
            select(FailedWork.id)
            .where(FailedWork.replayed_at.is_(None), FailedWork.stage.in_(RETRYABLE_STAGES))
            .order_by(FailedWork.id)
        ).scalars()
    )


def _requeue_inbound(session: Session, record: InboundRecord) -> None:
    record.status = "pending"
    record.status_reason = None
    record.processed_at = None
    outbox.add_work(session, outbox.INGEST, inbound_id=record.id)


def _undo_failed_marks(session: Session, stage: str, payload: dict[str, Any]) -> None:
    bug = f"{stage}: %"  # the reason the worker gave what a bug interrupted
    if stage == outbox.ACKNOWLEDGE:
        session.execute(
            update(AutomatedSend)
            .where(
                AutomatedSend.ticket_id == payload["ticket_id"],
                AutomatedSend.purpose == ACKNOWLEDGEMENT,
                AutomatedSend.status == "failed",
            )
            .values(status="sending", reason=None)
        )
        _resume_outbound(
            session,
            Message.ticket_id == payload["ticket_id"],
            Message.kind == ACKNOWLEDGEMENT,
            Message.delivery_error.like(bug),
        )
    elif stage == outbox.SEND_REPLY:
        _resume_outbound(
            session, Message.id == payload["message_id"], Message.delivery_error.like(bug)
        )
    elif stage == outbox.DELIVER:
        # A bug in a desk client made the delivery dead: a fresh attempt budget.
        session.execute(
            update(Delivery)
            .where(Delivery.id == payload["delivery_id"], Delivery.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=None, updated_at=utcnow())
        )


def _resume_outbound(session: Session, *where: ColumnElement[bool]) -> None:
    """A message a bug failed is in flight again: sent with the reference it was given."""
    session.execute(
        update(Message)
        .where(Message.direction == "outbound", Message.delivery_state == "failed", *where)
        .values(
            delivery_state=case(
                (Message.message_id_header.is_not(None), "sending"), else_="queued"
            ),
            delivery_error=None,
        )
    )


def _unreplayed(session: Session, stage: str) -> list[FailedWork]:
    return list(
        session.execute(
            select(FailedWork).where(FailedWork.stage == stage, FailedWork.replayed_at.is_(None))
        ).scalars()
    )


def _headers(raw: bytes) -> dict[str, str]:
    """From and Subject for a listing; a header that will not decode shows as raw text."""
    found: dict[str, str] = {}
    try:
        parsed = BytesHeaderParser(policy=default_policy).parsebytes(raw[:65536])
        for name in ("from", "subject"):
            try:
                found[name] = str(parsed.get(name, "") or "")
            except (ValueError, TypeError, LookupError, IndexError):
                found[name] = str(parsed.get_all(name, [""])[0])
    except (ValueError, TypeError, LookupError, IndexError):
        return {}
    return {k: " ".join(v.split())[:200] for k, v in found.items()}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

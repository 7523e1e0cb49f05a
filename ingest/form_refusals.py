"""Web-form posts refused as abuse: recorded with their reason, listed, and released.

Nothing a form receives is silently lost: a post the guards refuse is kept with
its submission and reason (counted in ``/metrics``, listed by ``omniroute forms
refused``). Releasing one accepts its submission like any other post, so the
worker turns it into a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.accept import Accepted, accept_batch
from ingest.blobs import BlobMissing, BlobStore
from ingest.db import unit_of_work
from ingest.models import FormRefusal, utcnow
from ingest.raw_inputs import RawInput, RawSpill, spill_bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """What the edge knows of a refused post."""

    form: str
    reason: str
    detail: str
    client_ip: str
    email: str
    raw: bytes
    envelope: dict[str, Any]
    # Set once a large submission is in the blob store: ``raw`` is then its head.
    raw_blob: str | None = None
    raw_size: int | None = None


class NotReleasable(Exception):
    """The refusal does not exist, was released already, or kept no submission."""


def spill_refused(refused: Refused, spill: RawSpill) -> Refused:
    """``refused`` with a large submission's bytes written to the blob store (before the
    row's transaction); raises ``StoreUnavailable`` when the blob store cannot take them."""
    if refused.raw_blob is not None or not spill.wants(refused.raw):
        return refused
    spilled = spill_bytes(refused.raw, spill)
    return replace(refused, raw=spilled.head, raw_blob=spilled.blob, raw_size=spilled.size)


def record_refusal(conn: Session | Connection, refused: Refused) -> None:
    conn.execute(
        insert(FormRefusal).values(
            form=refused.form,
            reason=refused.reason,
            detail=refused.detail[:2000],
            client_ip=refused.client_ip,
            email=refused.email[:320],
            raw=refused.raw,
            raw_blob=refused.raw_blob,
            raw_size=refused.raw_size,
            envelope=refused.envelope,
            created_at=utcnow(),
        )
    )


def list_refusals(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.execute(
        select(FormRefusal).order_by(FormRefusal.id.desc()).limit(limit)
    ).scalars()
    return [
        {
            "id": row.id,
            "form": row.form,
            "reason": row.reason,
            "detail": row.detail,
            "client_ip": row.client_ip,
            "email": row.email,
            "created_at": row.created_at.isoformat(),
            "released": row.released_at is not None,
            "inbound_id": row.inbound_id,
        }
        for row in rows
    ]


def counts_by_reason(session: Session) -> dict[tuple[str, str], int]:
    """Refusals per (form, reason), for the metrics."""
    return {
        (form, reason): int(count)
        for form, reason, count in session.execute(
            select(FormRefusal.form, FormRefusal.reason, func.count()).group_by(
                FormRefusal.form, FormRefusal.reason
            )
        )
    }


def release(
    sessions: sessionmaker[Session], refusal_id: int, blobs: BlobStore | None = None
) -> Accepted:
    """Accept a refused submission after all; the worker makes it a ticket.

    A large submission kept in the blob store is named by the new record too (the
    same content-addressed blob); ``blobs`` is only read to check it is still there.
    Raises ``BlobMissing`` when it is not."""
    with sessions() as session:
        row = session.get(FormRefusal, refusal_id)
        if row is None:
            raise NotReleasable(f"no refused submission {refusal_id}")
        if row.released_at is not None:
            raise NotReleasable(f"refused submission {refusal_id} was released already")
        if not row.raw:
            raise NotReleasable(f"refused submission {refusal_id} kept no content")
        item = RawInput(
            "web",
            f"web:released:{refusal_id}",
            row.raw,
            dict(row.envelope),
            raw_blob=row.raw_blob,
            raw_size=row.raw_size,
        )
    if item.raw_blob is not None and blobs is not None and not blobs.exists(item.raw_blob):
        raise BlobMissing(f"refused submission {refusal_id}: {item.raw_blob} is not in the store")
    accepted = accept_batch(sessions, [item])[0]
    with unit_of_work(sessions) as session:
        found = session.get(FormRefusal, refusal_id, with_for_update=True)
        assert found is not None
        found.released_at = utcnow()
        found.inbound_id = accepted.inbound_id
    return accepted

"""Web-form posts refused as abuse: recorded with their reason, listed, and released.

Nothing a form receives is silently lost: a post the guards refuse is kept with
its submission and reason (counted in ``/metrics``, listed by ``omniroute forms
refused``). Releasing one accepts its submission like any other post, so the
worker turns it into a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.accept import Accepted, accept_raw
from ingest.db import unit_of_work
from ingest.models import FormRefusal, utcnow


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


class NotReleasable(Exception):
    """The refusal does not exist, was released already, or kept no submission."""


def record_refusal(conn: Session | Connection, refused: Refused) -> None:
    conn.execute(
        insert(FormRefusal).values(
            form=refused.form,
            reason=refused.reason,
            detail=refused.detail[:2000],
            client_ip=refused.client_ip,
            email=refused.email[:320],
            raw=refused.raw,
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


def release(sessions: sessionmaker[Session], refusal_id: int) -> Accepted:
    """Accept a refused submission after all; the worker makes it a ticket."""
    with sessions() as session:
        row = session.get(FormRefusal, refusal_id)
        if row is None:
            raise NotReleasable(f"no refused submission {refusal_id}")
        if row.released_at is not None:
            raise NotReleasable(f"refused submission {refusal_id} was released already")
        if not row.raw:
            raise NotReleasable(f"refused submission {refusal_id} kept no content")
        raw, envelope = row.raw, dict(row.envelope)
    accepted = accept_raw(
        sessions,
        channel="web",
        dedupe_key=f"web:released:{refusal_id}",
        raw=raw,
        envelope=envelope,
    )
    with unit_of_work(sessions) as session:
        found = session.get(FormRefusal, refusal_id, with_for_update=True)
        assert found is not None
        found.released_at = utcnow()
        found.inbound_id = accepted.inbound_id
    return accepted

"""The durable accept: raw input plus its dedupe key and an outbox row, in one transaction.

Every edge (SMTP, the MTA pipe, webhooks) calls this before it acknowledges the sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest import outbox
from ingest.db import insert_ignoring_conflicts, unit_of_work
from ingest.models import InboundRecord, utcnow


@dataclass(frozen=True, slots=True)
class Accepted:
    inbound_id: int
    duplicate: bool


def accept_raw(
    sessions: sessionmaker[Session],
    *,
    channel: str,
    dedupe_key: str,
    raw: bytes,
    envelope: dict[str, Any],
) -> Accepted:
    """Commit the raw input once; a redelivery with the same key is reported as a duplicate.

    Raises ``StoreUnavailable`` when the store cannot commit: the caller must tell
    the sender to retry.
    """
    with unit_of_work(sessions) as session:
        values = {
            "channel": channel,
            "dedupe_key": dedupe_key,
            "raw": raw,
            "envelope": envelope,
            "received_at": utcnow(),
            "status": "pending",
        }
        insert = insert_ignoring_conflicts(session, InboundRecord).values(**values)
        inserted = session.execute(insert.returning(InboundRecord.id)).scalar_one_or_none()
        if inserted is None:
            existing = session.execute(
                select(InboundRecord.id).where(InboundRecord.dedupe_key == dedupe_key)
            ).scalar_one()
            return Accepted(inbound_id=existing, duplicate=True)
        outbox.add_work(session, outbox.INGEST, inbound_id=inserted)
        return Accepted(inbound_id=inserted, duplicate=False)

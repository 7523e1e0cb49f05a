"""The durable accept: raw input plus its dedupe key and an outbox row, in one transaction.

Every edge (SMTP, the MTA pipe, webhooks) calls this before it acknowledges the
sender. It uses Core statements rather than ORM objects: it is the one write on
every sender's critical path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from ingest import outbox
from ingest.db import insert_ignoring_conflicts, unit_of_work
from ingest.models import InboundRecord, OutboxEntry, utcnow


@dataclass(frozen=True, slots=True)
class RawInput:
    """One input as the edge received it."""

    channel: str
    dedupe_key: str
    raw: bytes
    envelope: dict[str, Any]


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
    """Commit one input; a redelivery with the same key is reported as a duplicate.

    Raises ``StoreUnavailable`` when the store cannot commit: the caller must tell
    the sender to retry.
    """
    return accept_batch(sessions, [RawInput(channel, dedupe_key, raw, envelope)])[0]


def accept_batch(sessions: sessionmaker[Session], items: Sequence[RawInput]) -> list[Accepted]:
    """Commit several inputs in one transaction (a group commit); all or none are stored."""
    results: list[Accepted] = []
    with unit_of_work(sessions) as session:
        now = utcnow()
        add_inbound = insert_ignoring_conflicts(session, InboundRecord).returning(InboundRecord.id)
        add_work = insert(OutboxEntry)
        for item in items:
            inserted = session.execute(
                add_inbound.values(
                    channel=item.channel,
                    dedupe_key=item.dedupe_key,
                    raw=item.raw,
                    envelope=item.envelope,
                    received_at=now,
                    status="pending",
                )
            ).scalar_one_or_none()
            if inserted is None:
                existing = session.execute(
                    select(InboundRecord.id).where(InboundRecord.dedupe_key == item.dedupe_key)
                ).scalar_one()
                results.append(Accepted(inbound_id=existing, duplicate=True))
                continue
            session.execute(
                add_work.values(
                    actor=outbox.INGEST,
                    payload={"inbound_id": inserted},
                    created_at=now,
                    not_before=now,
                )
            )
            results.append(Accepted(inbound_id=inserted, duplicate=False))
    return results

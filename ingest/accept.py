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
    """Commit several inputs in one transaction (a group commit); all or none are stored.

    A handful of set-based statements per batch, not a few per item: this is the
    write every sender waits on.
    """
    keys = [item.dedupe_key for item in items]
    with unit_of_work(sessions) as session:
        conn = session.connection()
        existing = set(
            conn.execute(
                select(InboundRecord.dedupe_key).where(InboundRecord.dedupe_key.in_(keys))
            ).scalars()
        )
        now = utcnow()
        fresh: dict[str, RawInput] = {}
        for item in items:
            if item.dedupe_key not in existing and item.dedupe_key not in fresh:
                fresh[item.dedupe_key] = item
        if fresh:
            # A concurrent writer (PostgreSQL) may win a key between the two statements;
            # the conflict clause keeps its row, and the duplicate ingest job is harmless.
            conn.execute(
                insert_ignoring_conflicts(session, InboundRecord),
                [
                    {
                        "channel": item.channel,
                        "dedupe_key": key,
                        "raw": item.raw,
                        "envelope": item.envelope,
                        "received_at": now,
                        "status": "pending",
                    }
                    for key, item in fresh.items()
                ],
            )
        ids = {
            key: inbound_id
            for key, inbound_id in conn.execute(
                select(InboundRecord.dedupe_key, InboundRecord.id).where(
                    InboundRecord.dedupe_key.in_(keys)
                )
            )
        }
        if fresh:
            conn.execute(
                insert(OutboxEntry),
                [
                    {
                        "actor": outbox.INGEST,
                        "payload": {"inbound_id": ids[key]},
                        "created_at": now,
                        "not_before": now,
                    }
                    for key in fresh
                ],
            )
    results: list[Accepted] = []
    announced: set[str] = set()
    for item in items:
        new = item.dedupe_key in fresh and item.dedupe_key not in announced
        announced.add(item.dedupe_key)
        results.append(Accepted(inbound_id=ids[item.dedupe_key], duplicate=not new))
    return results

"""The durable accept: raw input plus its dedupe key and an outbox row, in one transaction.

Every edge (SMTP, the MTA pipe, webhooks) calls this before it acknowledges the
sender. It uses Core statements rather than ORM objects: it is the one write on
every sender's critical path. A large input's bytes go to the blob store first
(``ingest.raw_inputs``); the row then names the blob.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session, sessionmaker

from ingest import outbox
from ingest.db import connection_unit, insert_for_dialect
from ingest.direct_sql import rows_each, run_many
from ingest.envelope import Envelope
from ingest.models import InboundRecord, OutboxEntry, utcnow
from ingest.raw_inputs import RawInput, RawSpill, spill_input
from ingest.rows import attach_loaded


@dataclass(frozen=True, slots=True)
class Accepted:
    inbound_id: int
    duplicate: bool
    # When a new record was written (None for a duplicate).
    received_at: datetime | None = None


def accept_raw(
    sessions: sessionmaker[Session],
    *,
    channel: str,
    dedupe_key: str,
    raw: bytes,
    envelope: Envelope,
    spill: RawSpill | None = None,
) -> Accepted:
    """Commit one input; a redelivery with the same key is reported as a duplicate.

    Raises ``StoreUnavailable`` when the store (or the blob store, for an input
    larger than ``spill``'s threshold) cannot take it: the caller must tell the
    sender to retry.
    """
    return accept_batch(sessions, [RawInput(channel, dedupe_key, raw, envelope)], spill)[0]


def accept_batch(
    sessions: sessionmaker[Session], items: Sequence[RawInput], spill: RawSpill | None = None
) -> list[Accepted]:
    """Commit several inputs in one transaction (a group commit); all or none are stored.

    Two set-based statements per batch in the common case (no repeats), not a
    few per item: this is the write every sender waits on. Inputs larger than
    ``spill``'s threshold are written to the blob store before the transaction.
    """
    if spill is not None:
        spilled: dict[str, RawInput] = {}
        for item in items:
            if item.dedupe_key not in spilled:
                spilled[item.dedupe_key] = spill_input(item, spill)
        items = [spilled[item.dedupe_key] for item in items]
    with connection_unit(sessions) as conn:
        accepted = record_inputs(conn, items)
        queue_ingest(conn, [a.inbound_id for a in accepted if not a.duplicate])
    return accepted


def record_inputs(conn: Connection, items: Sequence[RawInput]) -> list[Accepted]:
    """Insert the inputs not seen before, inside the caller's transaction; no work is queued.

    The caller queues the ingest of the new ones (:func:`queue_ingest`) in the same
    transaction, unless it ingests them there itself.
    """
    unique: dict[str, RawInput] = {}
    for item in items:
        unique.setdefault(item.dedupe_key, item)
    now = utcnow()
    add_inbound, _ = _statements(conn.dialect.name)
    inserted = {
        key: inbound_id
        for inbound_id, key in rows_each(
            conn, add_inbound, [_new_row(item, now) for item in unique.values()]
        )
    }
    ids = dict(inserted)
    repeats = [key for key in unique if key not in inserted]
    if repeats:
        ids.update(
            (key, inbound_id)
            for key, inbound_id in conn.execute(
                select(InboundRecord.dedupe_key, InboundRecord.id).where(
                    InboundRecord.dedupe_key.in_(repeats)
                )
            )
        )
    results: list[Accepted] = []
    announced: set[str] = set()
    for item in items:
        new = item.dedupe_key in inserted and item.dedupe_key not in announced
        announced.add(item.dedupe_key)
        results.append(
            Accepted(
                inbound_id=ids[item.dedupe_key], duplicate=not new, received_at=now if new else None
            )
        )
    return results


def written_record(session: Session, item: RawInput, accepted: Accepted) -> InboundRecord | None:
    """The record :func:`record_inputs` just wrote for ``item``, in ``session`` without a
    read; None for a duplicate, which the caller reads (and locks) itself."""
    if accepted.duplicate or accepted.received_at is None:
        return None
    return attach_loaded(
        session,
        InboundRecord,
        {
            **_new_row(item, accepted.received_at),
            "id": accepted.inbound_id,
            "status_reason": None,
            "processed_at": None,
        },
    )


def _new_row(item: RawInput, received_at: datetime) -> dict[str, Any]:
    """The columns :func:`record_inputs` writes for a new input."""
    return {
        "channel": item.channel,
        "dedupe_key": item.dedupe_key,
        "raw": item.raw,
        "raw_blob": item.raw_blob,
        "raw_size": item.raw_size,
        "envelope": item.envelope,
        "received_at": received_at,
        "status": "pending",
    }


def queue_ingest(conn: Connection, inbound_ids: Sequence[int]) -> None:
    """Queue the worker's ingest of these records, committed with the caller's transaction."""
    if not inbound_ids:
        return
    now = utcnow()
    _, add_work = _statements(conn.dialect.name)
    run_many(
        conn,
        add_work,
        [
            {
                "actor": outbox.INGEST,
                "payload": {"inbound_id": inbound_id},
                "created_at": now,
                "not_before": now,
            }
            for inbound_id in inbound_ids
        ],
    )


@cache
def _statements(dialect: str) -> tuple[Any, Any]:
    """The two inserts, built once per dialect: rebuilding them costs more than running them."""
    add_inbound = (
        insert_for_dialect(dialect, InboundRecord)
        .on_conflict_do_nothing()
        .returning(InboundRecord.id, InboundRecord.dedupe_key)
    )
    return add_inbound, insert(OutboxEntry)

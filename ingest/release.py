"""Release held input: a quarantined or failed inbound record goes through ingest again.

The raw record is the truth (nothing was thrown away), so a release is the record set
back to ``pending`` with ingest work in the outbox, in one transaction. Ingest is
idempotent; a record that still cannot be parsed is quarantined again with its reason.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ingest import outbox
from ingest.models import InboundRecord

RELEASABLE = frozenset({"quarantined", "failed"})


class NotReleasable(Exception):
    """The record does not exist or is not held."""


def release_inbound(session: Session, inbound_id: int) -> str:
    """Queue held record ``inbound_id`` for ingest again; the status it had."""
    record = session.get(InboundRecord, inbound_id, with_for_update=True)
    if record is None:
        raise NotReleasable(f"no inbound record {inbound_id}")
    if record.status not in RELEASABLE:
        raise NotReleasable(
            f"inbound {inbound_id} is {record.status}; only quarantined or failed input is released"
        )
    was = record.status
    record.status = "pending"
    record.status_reason = f"released from {was}: {record.status_reason or ''}".strip(": ")
    record.processed_at = None
    outbox.add_work(session, outbox.INGEST, inbound_id=record.id)
    return was

"""Due work: what the store says must still happen, and how long the oldest has waited.

Read by ``/readyz`` and ``/metrics`` so a stall shows (a lost broker message, a dead
worker, no scheduler running) instead of hiding behind an empty queue. Kinds:

- ``inbound``: records accepted and not yet ingested (due since received);
- ``delivery``: hand-offs pending or retrying whose next attempt is due;
- ``acknowledgement``: automated sends started and not finished;
- ``outbox:<actor>``: outbox work not done, per actor (due from ``not_before``),
  whether it waits for the relay, sits in the broker or runs in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ingest import outbox
from ingest.models import AutomatedSend, Delivery, InboundRecord, OutboxEntry, utcnow

KINDS = ("inbound", "delivery", "acknowledgement", *(f"outbox:{a}" for a in outbox.ACTORS))


@dataclass(frozen=True, slots=True)
class DueWork:
    kind: str
    count: int
    oldest_age_seconds: float

    def as_dict(self) -> dict[str, float | int]:
        return {"count": self.count, "oldest_age_seconds": round(self.oldest_age_seconds, 3)}


def due_work(session: Session, now: datetime | None = None) -> list[DueWork]:
    """Every kind in ``KINDS``, with how many are due and the oldest one's age (0 if none)."""
    now = now or utcnow()
    found: dict[str, tuple[int, datetime | None]] = {}
    found["inbound"] = _one(
        session,
        select(func.count(), func.min(InboundRecord.received_at)).where(
            InboundRecord.status == "pending"
        ),
    )
    due_at = func.coalesce(Delivery.next_attempt_at, Delivery.created_at)
    found["delivery"] = _one(
        session,
        select(func.count(), func.min(due_at)).where(
            Delivery.status.in_(("pending", "retrying")),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        ),
    )
    found["acknowledgement"] = _one(
        session,
        select(func.count(), func.min(AutomatedSend.created_at)).where(
            AutomatedSend.status == "sending"
        ),
    )
    rows = session.execute(
        select(OutboxEntry.actor, func.count(), func.min(OutboxEntry.not_before))
        .where(OutboxEntry.done_at.is_(None), OutboxEntry.not_before <= now)
        .group_by(OutboxEntry.actor)
    )
    for actor, count, oldest in rows:
        found[f"outbox:{actor}"] = (int(count), _aware(oldest))
    kinds = [*KINDS, *sorted(k for k in found if k not in KINDS)]
    return [_due(kind, *found.get(kind, (0, None)), now=now) for kind in kinds]


def _one(session: Session, query: object) -> tuple[int, datetime | None]:
    count, oldest = session.execute(query).one()  # type: ignore[call-overload]
    return int(count), _aware(oldest)


def _aware(value: object) -> datetime | None:
    """``min`` keeps the column's type, so values come back aware; be sure of it anyway."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite text, should a driver hand it back raw
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _due(kind: str, count: int, oldest: datetime | None, *, now: datetime) -> DueWork:
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None and count else 0.0
    return DueWork(kind, count, age)

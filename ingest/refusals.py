"""Count input refused at an edge, by channel and reason (refused input itself is not kept)."""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ingest.db import insert_ignoring_conflicts, unit_of_work
from ingest.models import RefusalCount, utcnow

log = logging.getLogger(__name__)


def count_refusal(session: Session, channel: str, reason: str) -> None:
    now = utcnow()
    session.execute(
        insert_ignoring_conflicts(session, RefusalCount).values(
            channel=channel, reason=reason[:64], count=0, first_at=now, last_at=now
        )
    )
    session.execute(
        update(RefusalCount)
        .where(RefusalCount.channel == channel, RefusalCount.reason == reason[:64])
        .values(count=RefusalCount.count + 1, last_at=now)
    )


def record_refusal(sessions: sessionmaker[Session], channel: str, reason: str) -> None:
    """Count one refusal; a store that is down loses the count, never the edge's answer."""
    try:
        with unit_of_work(sessions) as session:
            count_refusal(session, channel, reason)
    except Exception as exc:
        log.warning("refusal on %s not counted (%s): %s", channel, reason, exc)

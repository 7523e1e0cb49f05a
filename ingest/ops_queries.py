"""Read-only figures for operators: intake and lag per channel, attempts, quarantine, refusals.

Shared by ``/metrics``, the console and ``omniroute status``, so all three agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.models import (
    AutomatedSend,
    Delivery,
    DeliveryAttempt,
    FormRefusal,
    InboundRecord,
    Message,
    RefusalCount,
    utcnow,
)

# Lag is measured over at most this many recent messages, so a scrape stays cheap.
LAG_SAMPLE = 5_000
RATE_LIMIT_PREFIX = "rate limit"
WEB_FORMS = "web"  # the channel web-form refusals are counted under


@dataclass(frozen=True, slots=True)
class ChannelIntake:
    channel: str
    received: int
    last_received_at: datetime | None
    lag_avg_seconds: float | None
    lag_max_seconds: float | None


def intake_by_channel(session: Session, since: datetime | None = None) -> list[ChannelIntake]:
    """Inbound records per channel (since ``since``, else ever) with received -> ticket lag."""
    query = select(InboundRecord.channel, func.count(), func.max(InboundRecord.received_at))
    if since is not None:
        query = query.where(InboundRecord.received_at >= since)
    counts = {
        channel: (int(count), as_utc(last))
        for channel, count, last in session.execute(query.group_by(InboundRecord.channel))
    }
    lags: dict[str, list[float]] = {}
    lag_query = (
        select(InboundRecord.channel, InboundRecord.received_at, Message.created_at)
        .join(Message, Message.inbound_id == InboundRecord.id)
        .order_by(InboundRecord.id.desc())
        .limit(LAG_SAMPLE)
    )
    if since is not None:
        lag_query = lag_query.where(InboundRecord.received_at >= since)
    for channel, received_at, created_at in session.execute(lag_query):
        lags.setdefault(channel, []).append(max((created_at - received_at).total_seconds(), 0.0))
    result = []
    for channel in sorted(counts):
        count, last = counts[channel]
        values = lags.get(channel, [])
        result.append(
            ChannelIntake(
                channel=channel,
                received=count,
                last_received_at=last,
                lag_avg_seconds=round(sum(values) / len(values), 3) if values else None,
                lag_max_seconds=round(max(values), 3) if values else None,
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class IntakeBucket:
    start: datetime
    received: int
    lag_avg_seconds: float | None


def intake_series(
    session: Session, *, hours: int = 24, bucket_minutes: int = 60, now: datetime | None = None
) -> list[IntakeBucket]:
    """Intake and average lag in equal buckets over the last ``hours`` (for charts)."""
    now = now or utcnow()
    step = timedelta(minutes=bucket_minutes)
    count = int(timedelta(hours=hours) / step)
    start = now - step * count
    received = [0] * count
    lag_sum = [0.0] * count
    lag_n = [0] * count
    rows = session.execute(
        select(InboundRecord.received_at, Message.created_at)
        .outerjoin(Message, Message.inbound_id == InboundRecord.id)
        .where(InboundRecord.received_at >= start)
    )
    for received_at, created_at in rows:
        index = min(int((received_at - start) / step), count - 1)
        received[index] += 1
        if created_at is not None:
            lag_sum[index] += max((created_at - received_at).total_seconds(), 0.0)
            lag_n[index] += 1
    return [
        IntakeBucket(
            start=start + step * i,
            received=received[i],
            lag_avg_seconds=round(lag_sum[i] / lag_n[i], 3) if lag_n[i] else None,
        )
        for i in range(count)
    ]


def attempts_by_outcome(session: Session) -> list[tuple[str, str, int]]:
    """(destination, outcome, attempts) over every delivery attempt recorded."""
    rows = session.execute(
        select(Delivery.destination, DeliveryAttempt.outcome, func.count())
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .group_by(Delivery.destination, DeliveryAttempt.outcome)
    )
    return [(d, o, int(n)) for d, o, n in rows]


def quarantine_by_reason(session: Session) -> list[tuple[str, str, int]]:
    """(channel, reason kind, count) of quarantined input; the kind is the reason's head,
    so free-text details do not become one time series each."""
    counts: dict[tuple[str, str], int] = {}
    rows = session.execute(
        select(InboundRecord.channel, InboundRecord.status_reason, func.count())
        .where(InboundRecord.status == "quarantined")
        .group_by(InboundRecord.channel, InboundRecord.status_reason)
    )
    for channel, reason, n in rows:
        key = (channel, reason_kind(reason))
        counts[key] = counts.get(key, 0) + int(n)
    return [(c, r, n) for (c, r), n in sorted(counts.items())]


def reason_kind(reason: str | None) -> str:
    """``"undecodable MIME: bad boundary"`` -> ``"undecodable MIME"`` (at most 48 chars)."""
    head = (reason or "unknown").split(":", 1)[0].split("(", 1)[0].strip()
    return head[:48] or "unknown"


def refusals_by_reason(session: Session) -> list[tuple[str, str, int]]:
    """Every edge's refusals by channel and reason: the counts the edges flush, and the
    web forms' refused posts (each kept as a row of its own, counted here as ``web``)."""
    totals: dict[tuple[str, str], int] = {}
    for channel, reason, count in session.execute(
        select(RefusalCount.channel, RefusalCount.reason, RefusalCount.count)
    ):
        totals[(channel, reason)] = totals.get((channel, reason), 0) + int(count)
    for reason, count in session.execute(
        select(FormRefusal.reason, func.count()).group_by(FormRefusal.reason)
    ):
        totals[(WEB_FORMS, reason)] = totals.get((WEB_FORMS, reason), 0) + int(count)
    return [(channel, reason, count) for (channel, reason), count in sorted(totals.items())]


def limiter_trips(session: Session) -> int:
    """Automated sends held back by the per-recipient rate limit."""
    return int(
        session.execute(
            select(func.count()).where(
                AutomatedSend.status == "suppressed",
                AutomatedSend.reason.startswith(RATE_LIMIT_PREFIX),
            )
        ).scalar_one()
    )


def as_utc(value: datetime | str | None) -> datetime | None:
    """An aggregate's datetime made aware: aggregates bypass the column type, so
    SQLite hands back naive values (or text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)

"""Prometheus metrics for operators, read from the store at scrape time.

Per-channel intake and lag, queue depth per queue, delivery attempts by outcome,
quarantine and refusals by reason, limiter trips and role heartbeats (due work is
``channels/metrics.py``'s). Every process reads the same store, so any web process
answers alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from ingest.db import read_only
from ingest.health import role_health
from ingest.models import utcnow
from ingest.ops_queries import (
    attempts_by_outcome,
    intake_by_channel,
    limiter_trips,
    quarantine_by_reason,
    refusals_by_reason,
)

QueueDepth = Callable[[], Mapping[str, int]]


class OperationsCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session], queue_depth: QueueDepth | None) -> None:
        self.sessions = sessions
        self.queue_depth = queue_depth

    def collect(self) -> Iterator[Metric]:
        with read_only(self.sessions) as session:
            yield from self._intake(session)
            yield from self._outcomes(session)
            yield from self._health(session)
        if self.queue_depth is not None:
            depth = GaugeMetricFamily(
                "omniroute_queue_depth",
                "Messages waiting on the broker, by queue",
                labels=["queue"],
            )
            for queue, count in sorted(self.queue_depth().items()):
                depth.add_metric([queue], count)
            yield depth

    def _intake(self, session: Session) -> Iterator[Metric]:
        received = CounterMetricFamily(
            "omniroute_intake", "Inbound records received, by channel", labels=["channel"]
        )
        last = GaugeMetricFamily(
            "omniroute_intake_last_received_timestamp_seconds",
            "When the newest inbound record of a channel was received",
            labels=["channel"],
        )
        for row in intake_by_channel(session):
            received.add_metric([row.channel], row.received)
            if row.last_received_at is not None:
                last.add_metric([row.channel], row.last_received_at.timestamp())
        lag_avg = GaugeMetricFamily(
            "omniroute_intake_lag_seconds_avg",
            "Average time from receipt to ticket message over the last hour, by channel",
            labels=["channel"],
        )
        lag_max = GaugeMetricFamily(
            "omniroute_intake_lag_seconds_max",
            "Longest time from receipt to ticket message over the last hour, by channel",
            labels=["channel"],
        )
        for row in intake_by_channel(session, since=utcnow() - timedelta(hours=1)):
            if row.lag_avg_seconds is not None and row.lag_max_seconds is not None:
                lag_avg.add_metric([row.channel], row.lag_avg_seconds)
                lag_max.add_metric([row.channel], row.lag_max_seconds)
        yield from (received, last, lag_avg, lag_max)

    def _outcomes(self, session: Session) -> Iterator[Metric]:
        attempts = CounterMetricFamily(
            "omniroute_delivery_attempts",
            "Hand-off attempts by destination and outcome",
            labels=["destination", "outcome"],
        )
        for destination, outcome, count in attempts_by_outcome(session):
            attempts.add_metric([destination, outcome], count)
        quarantined = CounterMetricFamily(
            "omniroute_quarantined",
            "Inbound input kept but quarantined, by channel and reason",
            labels=["channel", "reason"],
        )
        for channel, reason, count in quarantine_by_reason(session):
            quarantined.add_metric([channel, reason], count)
        refusals = CounterMetricFamily(
            "omniroute_refusals",
            "Input refused at the edge, by channel and reason",
            labels=["channel", "reason"],
        )
        for channel, reason, count in refusals_by_reason(session):
            refusals.add_metric([channel, reason], count)
        trips = CounterMetricFamily(
            "omniroute_limiter_trips",
            "Automated sends held back by a rate limit, by limiter",
            labels=["limiter"],
        )
        trips.add_metric(["automated_sends"], limiter_trips(session))
        yield from (attempts, quarantined, refusals, trips)

    def _health(self, session: Session) -> Iterator[Metric]:
        alive = GaugeMetricFamily(
            "omniroute_role_instances_alive",
            "Processes of a role whose heartbeat is recent",
            labels=["role"],
        )
        age = GaugeMetricFamily(
            "omniroute_role_heartbeat_age_seconds",
            "Seconds since the newest heartbeat of a role",
            labels=["role"],
        )
        for role in role_health(session):
            alive.add_metric([role.role], role.alive)
            if role.age_seconds is not None:
                age.add_metric([role.role], role.age_seconds)
        yield from (alive, age)

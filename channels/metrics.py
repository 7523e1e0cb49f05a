"""Prometheus metrics read from the store at scrape time, so every process agrees."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.statuses import RESOLVED
from ingest.db import read_only
from ingest.due_work import due_work
from ingest.models import Delivery, InboundRecord, SlaBreach, Ticket
from ingest.outbox import not_handed_over


class StoreCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        inbound = GaugeMetricFamily(
            "omniroute_inbound", "Inbound records by status", labels=["channel", "status"]
        )
        tickets = GaugeMetricFamily("omniroute_tickets", "Tickets by status", labels=["status"])
        deliveries = GaugeMetricFamily(
            "omniroute_deliveries",
            "Deliveries by destination and status",
            labels=["destination", "status"],
        )
        backlog = GaugeMetricFamily(
            "omniroute_outbox_backlog", "Outbox rows not yet handed to the broker"
        )
        open_tickets = GaugeMetricFamily(
            "omniroute_open_tickets",
            "Tickets not solved or closed, by team and priority",
            labels=["team", "priority"],
        )
        breaches = GaugeMetricFamily(
            "omniroute_sla_breaches", "Missed SLA targets recorded, by kind", labels=["kind"]
        )
        due_count = GaugeMetricFamily(
            "omniroute_due_work", "Due work not done yet, by kind", labels=["kind"]
        )
        due_age = GaugeMetricFamily(
            "omniroute_due_work_oldest_age_seconds",
            "Age of the oldest due work not done, by kind (0 when none)",
            labels=["kind"],
        )
        with read_only(self.sessions) as session:
            for due in due_work(session):
                due_count.add_metric([due.kind], due.count)
                due_age.add_metric([due.kind], due.oldest_age_seconds)
            for channel, status, count in session.execute(
                select(InboundRecord.channel, InboundRecord.status, func.count()).group_by(
                    InboundRecord.channel, InboundRecord.status
                )
            ):
                inbound.add_metric([channel, status], count)
            for status, count in session.execute(
                select(Ticket.status, func.count()).group_by(Ticket.status)
            ):
                tickets.add_metric([status], count)
            for destination, status, count in session.execute(
                select(Delivery.destination, Delivery.status, func.count()).group_by(
                    Delivery.destination, Delivery.status
                )
            ):
                deliveries.add_metric([destination, status], count)
            for team, priority, count in session.execute(
                select(Ticket.team, Ticket.priority, func.count())
                .where(Ticket.status.not_in(RESOLVED))
                .group_by(Ticket.team, Ticket.priority)
            ):
                open_tickets.add_metric([team or "", priority or ""], count)
            for kind, count in session.execute(
                select(SlaBreach.kind, func.count()).group_by(SlaBreach.kind)
            ):
                breaches.add_metric([kind], count)
            backlog.add_metric(
                [],
                session.execute(select(func.count()).where(not_handed_over())).scalar_one(),
            )
        yield from (inbound, tickets, deliveries, backlog, open_tickets, breaches)
        yield from (due_count, due_age)

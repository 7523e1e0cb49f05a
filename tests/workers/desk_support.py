"""Drive single deliveries: real ingest makes the ticket, then ``deliver`` runs by hand.

``Desks`` owns a real ``httpx.Client`` and a mail transport, turns customer mail into
tickets with the real ingest step, plans hand-offs with ``plan_delivery`` and runs
``deliver`` one attempt at a time. ``make_due`` stands for the scheduled retry time
arriving, so no test sleeps through a backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Self

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from channels.email_out import MailTransport
from config.rules import RuleSet, load_rules_text
from config.settings import Settings
from ingest.models import Delivery, Ticket
from ingest.pipeline import process_inbound
from tests.edge import accept_mail
from tests.harness import MemoryTransport
from workers.delivery.deliver import deliver
from workers.delivery.desks.handoff import DeskContext, desk_context
from workers.delivery.planning import TICKET_CREATED, plan_delivery


@dataclass(frozen=True)
class DeliveryState:
    status: str
    attempts: int
    external_id: str | None
    last_error: str | None
    outcomes: list[str]
    retry_in_seconds: float | None


def rules_with(destinations_yaml: str) -> RuleSet:
    """Rules routing every ticket nowhere, with the given ``destinations:`` body."""
    return load_rules_text(
        "format: 1\ndestinations:\n"
        + destinations_yaml
        + "\nroutes:\n  - name: default\n    team: support\n    destinations: []\n"
    )


class Desks:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        rules: RuleSet,
        transport: MailTransport | None = None,
    ) -> None:
        self.settings, self.sessions, self.rules = settings, sessions, rules
        self.transport = transport or MemoryTransport()
        self.http = httpx.Client()
        self.context: DeskContext = desk_context(settings, lambda: self.http, self.transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def receive(self, mail: EmailMessage) -> tuple[int, int]:
        """Accept and ingest one mail; its (ticket id, message id)."""
        raw = bytes(mail)
        accepted = accept_mail(self.sessions, raw)
        with self.sessions.begin() as session:
            outcome = process_inbound(session, accepted.inbound_id, self.settings)
        assert outcome.ticket_id is not None and outcome.message_id is not None, outcome
        return outcome.ticket_id, outcome.message_id

    def ticket(
        self,
        mail: EmailMessage,
        *,
        priority: str = "high",
        category: str = "billing",
        team: str = "billing",
        tags: tuple[str, ...] = (),
    ) -> tuple[int, int]:
        """A new ticket from ``mail``, triaged as given."""
        ticket_id, message_id = self.receive(mail)
        with self.sessions.begin() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            ticket.priority, ticket.category, ticket.team = priority, category, team
            ticket.tags = list(tags)
        return ticket_id, message_id

    def plan(self, ticket_id: int, message_id: int, destination: str, event: str) -> int:
        with self.sessions.begin() as session:
            delivery_id = plan_delivery(session, ticket_id, message_id, destination, event)
        assert delivery_id is not None
        return delivery_id

    def hand_off(self, ticket_id: int, message_id: int, destination: str) -> int:
        """Plan and run the ``ticket.created`` delivery once; its id."""
        delivery_id = self.plan(ticket_id, message_id, destination, TICKET_CREATED)
        self.run(delivery_id)
        return delivery_id

    def run(self, delivery_id: int) -> str | None:
        return deliver(self.sessions, self.rules, delivery_id, self.context)

    def make_due(self, delivery_id: int) -> None:
        """The delivery's scheduled time has come."""
        with self.sessions.begin() as session:
            session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(next_attempt_at=None)
            )

    def run_until_final(self, delivery_id: int, runs: int = 20) -> DeliveryState:
        for _ in range(runs):
            status = self.run(delivery_id)
            if status in {"delivered", "rejected", "dead"}:
                break
            self.make_due(delivery_id)
        return self.state(delivery_id)

    def state(self, delivery_id: int) -> DeliveryState:
        with self.sessions() as session:
            delivery = session.execute(
                select(Delivery).where(Delivery.id == delivery_id)
            ).scalar_one()
            retry_in = None
            if delivery.next_attempt_at is not None:
                retry_in = (delivery.next_attempt_at - delivery.updated_at).total_seconds()
            return DeliveryState(
                status=delivery.status,
                attempts=delivery.attempts,
                external_id=delivery.external_id,
                last_error=delivery.last_error,
                outcomes=[a.outcome for a in delivery.attempt_log],
                retry_in_seconds=retry_in,
            )

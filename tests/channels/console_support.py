"""The ops console served on loopback, over a store holding what an operator looks for:
a triaged ticket, a dead hand-off with its attempts, and quarantined input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from config.settings import Settings
from ingest.models import Delivery, DeliveryAttempt, InboundRecord, Message, OutboxEntry, utcnow
from ingest.tokens import ADMIN, READ, create_token
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.servers import http_server
from tests.workers.test_pipeline import send
from workers.process.console_actions import console_actions


@dataclass(frozen=True)
class Seeded:
    url: str
    ticket: int
    dead_delivery: int
    quarantined: int
    admin_token: str
    reader_token: str


def seed(settings: Settings, sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """A triaged ticket, a dead delivery of it, and a quarantined inbound record."""
    pipe = Pipeline(settings, sessions)
    try:
        send(sessions, bytes(customer_mail(subject="Refund for invoice 42")))
        pipe.drain()
    finally:
        pipe.close()
    now = utcnow()
    with sessions.begin() as session:
        message = session.scalars(select(Message).order_by(Message.id)).first()
        assert message is not None
        delivery = Delivery(
            ticket_id=message.ticket_id,
            message_id=message.id,
            destination="zendesk",
            event="ticket.created",
            idempotency_key=f"console-test-{message.id}",
            status="dead",
            attempts=2,
            last_error="HTTP 503 from Zendesk",
            created_at=now - timedelta(minutes=5),
            updated_at=now,
        )
        session.add(delivery)
        session.flush()
        for minutes, code in ((4, 503), (1, 503)):
            session.add(
                DeliveryAttempt(
                    delivery_id=delivery.id,
                    attempted_at=now - timedelta(minutes=minutes),
                    outcome="retry",
                    status_code=code,
                    error="HTTP 503 from Zendesk",
                    duration_ms=120,
                )
            )
        held = InboundRecord(
            channel="email",
            dedupe_key="console-test-quarantined",
            raw=bytes(customer_mail(subject="Held back")),
            envelope={},
            status="quarantined",
            status_reason="our own outbound message came back (mail loop)",
            processed_at=now,
        )
        session.add(held)
        session.flush()
        return message.ticket_id, delivery.id, held.id


@pytest.fixture
def console(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Seeded]:
    ticket, dead, held = seed(settings, sessions)
    with sessions.begin() as session:
        admin = create_token(session, "ops-console", [ADMIN]).token
        reader = create_token(session, "dashboard", [READ]).token
    app = create_app(sessions, console=console_actions(sessions, settings))
    with http_server(app) as url:
        yield Seeded(url, ticket, dead, held, admin, reader)


def outbox_for(sessions: sessionmaker[Session], actor: str) -> list[dict[str, object]]:
    with sessions() as session:
        return [
            dict(e.payload)
            for e in session.scalars(select(OutboxEntry).where(OutboxEntry.actor == actor))
        ]

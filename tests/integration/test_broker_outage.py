"""A broker outage delays work and loses none (DESIGN contract 3)."""

from __future__ import annotations

import pytest
from dramatiq.worker import Worker
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import default_rules
from config.settings import Settings
from ingest.models import InboundRecord, OutboxEntry, Ticket
from tests.edge import accept_mail
from tests.harness import MemoryTransport
from tests.integration.support import BrokerServer, wait_until
from tests.mail import customer_mail
from workers.process.actors import register_actors
from workers.process.broker import create_broker, queue_for
from workers.process.relay import relay_once
from workers.process.runtime import Runtime
from workers.triage.live_model import LiveModel
from workers.triage.rules_source import RulesSource

pytestmark = pytest.mark.integration


def ingest_outbox(sessions: sessionmaker[Session]) -> OutboxEntry:
    with sessions() as session:
        return session.execute(
            select(OutboxEntry).where(OutboxEntry.actor == "ingest")
        ).scalar_one()


def inbound_status(sessions: sessionmaker[Session], inbound_id: int) -> str:
    with sessions() as session:
        record = session.get(InboundRecord, inbound_id)
        assert record is not None
        return record.status


def tickets(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(Ticket)).scalar_one())


def test_broker_down_while_mail_arrives_then_work_runs_once_back(
    settings: Settings,
    sessions: sessionmaker[Session],
    engine: Engine,
    broker_server: BrokerServer,
) -> None:
    # Given a broker whose server has gone down
    broker = create_broker(broker_server.url, settings)
    queue = queue_for(broker_server.url, settings)
    broker.declare_queue(queue)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        broker=broker,
        rules_source=RulesSource.fixed(default_rules()),
        live_model=LiveModel(sessions),
        queue=queue,
    )
    register_actors(runtime, MemoryTransport())
    worker: Worker | None = None
    try:
        broker_server.stop()

        # When a mail arrives and the relay runs during the outage
        raw = bytes(customer_mail(subject="Broker outage"))
        accepted = accept_mail(sessions, raw)
        sent_during_outage = relay_once(sessions, broker, queue=queue)

        # Then nothing reached the broker and the work is still pending in the outbox
        assert sent_during_outage == 0
        assert ingest_outbox(sessions).enqueued_at is None

        # When the server is back, the relay runs again and a worker runs
        broker_server.start()
        assert relay_once(sessions, broker, queue=queue) == 1
        worker = Worker(broker, worker_timeout=100, worker_threads=2)
        worker.start()

        def handled() -> bool:
            relay_once(sessions, broker, queue=queue)  # triage and acknowledge follow the same path
            return inbound_status(sessions, accepted.inbound_id) != "pending"

        wait_until(handled, "the worker to handle the mail once the broker is back")

        # Then the mail became exactly one ticket and its outbox row is marked enqueued
        assert inbound_status(sessions, accepted.inbound_id) == "processed"
        assert tickets(sessions) == 1
        assert ingest_outbox(sessions).enqueued_at is not None
    finally:
        if worker is not None:
            worker.stop()
        broker.close()

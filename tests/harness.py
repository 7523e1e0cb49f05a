"""Drive the real actors on Dramatiq's StubBroker: relay the outbox, run, repeat until idle."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.message import EmailMessage

from dramatiq.brokers.stub import StubBroker
from dramatiq.worker import Worker
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet, default_rules
from config.settings import Settings
from ingest.models import OutboxEntry
from workers.process.actors import register_actors
from workers.process.broker import QUEUE, middleware
from workers.process.relay import relay_once
from workers.process.runtime import Runtime
from workers.triage.live_model import LiveModel
from workers.triage.rules_source import RulesSource


@dataclass
class MemoryTransport:
    """Collects outbound mail in memory (the SMTP path has its own end-to-end test)."""

    sent: list[tuple[EmailMessage, list[str]]] = field(default_factory=list)

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        self.sent.append((message, recipients))


def stub_broker() -> StubBroker:
    """Dramatiq's in-memory broker with omniroute's middleware, booted, the queue declared."""
    broker = StubBroker(middleware=middleware())
    broker.emit_after("process_boot")
    broker.declare_queue(QUEUE)
    return broker


class Pipeline:
    """The four actors on a StubBroker with a real worker pool."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        rules: RuleSet | None = None,
    ) -> None:
        self.broker = stub_broker()
        self.sessions = sessions
        self.transport = MemoryTransport()
        engine = sessions.kw["bind"]
        self.runtime = Runtime(
            settings=settings,
            engine=engine,
            sessions=sessions,
            broker=self.broker,
            rules_source=RulesSource.fixed(rules or default_rules()),
            live_model=LiveModel(sessions),
        )
        register_actors(self.runtime, self.transport)
        self.worker = Worker(self.broker, worker_timeout=50, worker_threads=2)
        self.worker.start()

    def drain(self, timeout: float = 30.0) -> None:
        """Relay and process until no outbox row is pending (including delayed retries)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            relay_once(self.sessions, self.broker)
            self.broker.join(QUEUE, fail_fast=True)
            self.worker.join()
            if self._pending() == 0:
                return
            time.sleep(0.02)
        raise TimeoutError("outbox still has pending work")

    def _pending(self) -> int:
        with self.sessions() as session:
            return int(
                session.execute(
                    select(func.count(OutboxEntry.id)).where(OutboxEntry.enqueued_at.is_(None))
                ).scalar_one()
            )

    def close(self) -> None:
        self.worker.stop()
        self.broker.close()

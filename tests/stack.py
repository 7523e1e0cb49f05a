"""omniroute's moving parts for integration tests: real broker, workers, relay, SMTP edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dramatiq.worker import Worker
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet, default_rules
from config.settings import Settings
from ingest.raw_inputs import RawSpill
from tests.servers import smtp_edge
from workers.process.actors import register_actors
from workers.process.broker import create_broker, queue_for
from workers.process.relay import RelayLoop
from workers.process.runtime import Runtime
from workers.triage.live_model import LiveModel
from workers.triage.rules_source import RulesSource


@dataclass(frozen=True, slots=True)
class Stack:
    runtime: Runtime
    smtp_port: int


@contextmanager
def running_stack(
    settings: Settings,
    sessions: sessionmaker[Session],
    broker_url: str,
    rules: RuleSet | None = None,
) -> Iterator[Stack]:
    """Everything `omniroute run` starts except HTTP, on the test's store and broker."""
    broker = create_broker(broker_url, settings)
    queue = queue_for(broker_url, settings)
    broker.declare_queue(queue)
    runtime = Runtime(
        settings=settings,
        engine=sessions.kw["bind"],
        sessions=sessions,
        broker=broker,
        rules_source=RulesSource.fixed(rules or default_rules()),
        live_model=LiveModel(sessions),
        queue=queue,
    )
    register_actors(runtime)
    worker = Worker(broker, worker_threads=2, worker_timeout=100)
    relay = RelayLoop(sessions, broker, 0.05, runtime.outbox_signal, queue)
    worker.start()
    relay.start()
    try:
        with smtp_edge(
            sessions,
            recipients=settings.recipients,
            on_accepted=runtime.outbox_signal.set,
            spill=RawSpill.for_settings(settings),
        ) as (_, port):
            yield Stack(runtime, port)
    finally:
        relay.stop()
        worker.stop()
        broker.close()

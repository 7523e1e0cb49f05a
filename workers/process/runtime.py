"""Everything a process shares: settings, store, broker, rules. Built once at start."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import dramatiq
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet
from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from workers.process.broker import QUEUE, create_broker, queue_for
from workers.triage.live_model import LiveModel
from workers.triage.rules_source import RulesSource

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    broker: dramatiq.Broker
    rules_source: RulesSource
    live_model: LiveModel  # the stored model made live (promoted or chosen), if any
    # The queue the actors listen on and the relay sends to.
    queue: str = QUEUE
    # Set when work was committed; the in-process relay wakes up instead of waiting.
    outbox_signal: threading.Event = field(default_factory=threading.Event)

    @property
    def rules(self) -> RuleSet:
        """The rules in force now (reloaded when the rules file changes)."""
        return self.rules_source.current()

    def close(self) -> None:
        self.broker.close()
        self.engine.dispose()


def build_runtime(settings: Settings, broker_url: str) -> Runtime:
    """Connect to the store and broker named by the settings (the broker lazily)."""
    engine = create_store_engine(settings.resolved_database_url)
    broker = create_broker(broker_url, settings)
    queue = queue_for(broker_url, settings)
    broker.declare_queue(queue)
    sessions = session_factory(engine)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        broker=broker,
        rules_source=RulesSource(settings.rules_file),
        live_model=LiveModel(sessions),
        queue=queue,
    )

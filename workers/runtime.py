"""Everything a process shares: settings, store, broker, rules. Built once at start."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import dramatiq
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet, default_rules, load_rules
from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from workers.broker import QUEUE, create_broker

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    broker: dramatiq.Broker
    rules: RuleSet
    # Set when work was committed; the in-process relay wakes up instead of waiting.
    outbox_signal: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.broker.close()
        self.engine.dispose()


def load_rule_set(path: Path | None) -> RuleSet:
    return load_rules(path) if path is not None else default_rules()


def build_runtime(settings: Settings, broker_url: str) -> Runtime:
    """Connect to the store and broker named by the settings (the broker lazily)."""
    engine = create_store_engine(settings.resolved_database_url)
    broker = create_broker(broker_url, settings)
    broker.declare_queue(QUEUE)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        broker=broker,
        rules=load_rule_set(settings.rules_file),
    )

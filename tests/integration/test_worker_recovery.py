"""A worker killed in the middle of a message: another worker finishes it, exactly once."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from sqlalchemy import Engine, func, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import InboundRecord, Message, OutboxEntry, Ticket
from tests.edge import accept_mail
from tests.integration.support import OMNIROUTE, Processes, clean_env, wait_until
from tests.mail import customer_mail
from workers.process.broker import QUEUE, create_broker, queue_for
from workers.process.relay import relay_once

pytestmark = pytest.mark.integration


@contextmanager
def store_write_lock(engine: Engine) -> Iterator[None]:
    """Hold a lock that makes the ingest transaction wait, until the block exits.

    SQLite: an exclusive transaction on a connection of our own; the worker's
    ``BEGIN IMMEDIATE`` waits on it (busy_timeout 30 s). PostgreSQL: the tickets
    table locked so that ingest waits inside its transaction, after it has locked
    the inbound row.
    """
    if engine.dialect.name == "sqlite":
        path = make_url(str(engine.url)).database
        assert path
        raw = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            raw.execute("BEGIN EXCLUSIVE")
            yield
            raw.execute("ROLLBACK")
        finally:
            raw.close()
        return
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()


def waiting_on_tickets(engine: Engine) -> bool:
    """PostgreSQL: some transaction is waiting for a lock on the tickets table."""
    with engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'tickets' AND NOT l.granted"
            )
        ).scalar_one()
    return bool(waiting)


def unacked(broker: Any, namespace: str) -> int:
    """Messages fetched by some worker and not acknowledged.

    Redis: Dramatiq's ack sets. RabbitMQ counts unacked messages per consumer only, so
    there: whether a consumer holds the queue with nothing left ready in it.
    """
    if isinstance(broker, RabbitmqBroker):
        declared = broker.channel.queue_declare(namespace, passive=True).method
        return int(declared.consumer_count > 0 and declared.message_count == 0)
    client = broker.client
    return sum(
        int(client.scard(key)) for key in client.scan_iter(f"{namespace}:__acks__.*.{QUEUE}")
    )


def queued(broker: Any, namespace: str) -> int:
    """Messages waiting in the queue (on RabbitMQ the namespace names the queue)."""
    if isinstance(broker, RabbitmqBroker):
        return int(broker.channel.queue_declare(namespace, passive=True).method.message_count)
    return int(broker.client.llen(f"{namespace}:{QUEUE}"))


def count(sessions: sessionmaker[Session], query: Any) -> int:
    with sessions() as session:
        return int(session.execute(query).scalar_one())


def inbound_status(sessions: sessionmaker[Session], inbound_id: int) -> str:
    with sessions() as session:
        record = session.get(InboundRecord, inbound_id)
        assert record is not None
        return record.status


def test_worker_killed_mid_message_is_processed_exactly_once(
    settings: Settings,
    sessions: sessionmaker[Session],
    engine: Engine,
    database_url: str,
    broker_url: str,
    processes: Processes,
    tmp_path: Path,
) -> None:
    # Given a mail accepted at the edge and its ingest message relayed to the broker
    raw = bytes(customer_mail(subject="Killed worker"))
    accepted = accept_mail(sessions, raw)
    broker: Any = create_broker(broker_url, settings)
    try:
        queue = queue_for(broker_url, settings)
        broker.declare_queue(queue)
        assert relay_once(sessions, broker, queue=queue) == 1
        namespace = settings.broker_namespace
        assert queued(broker, namespace) == 1
        env = clean_env(
            OMNIROUTE_DATABASE_URL=database_url,
            OMNIROUTE_BROKER_URL=broker_url,
            OMNIROUTE_BROKER_NAMESPACE=namespace,
            OMNIROUTE_BROKER_HEARTBEAT_TIMEOUT_MS="3000",
            OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
            OMNIROUTE_OUTBOX_POLL_SECONDS="0.1",
        )

        with store_write_lock(engine):
            # And a worker that took the message and now waits on the store inside ingest
            first = processes.start("worker-1", [str(OMNIROUTE), "worker"], env, cwd=tmp_path)

            def fetched() -> bool:
                if first.poll() is not None:
                    raise AssertionError(f"worker exited early\n{processes.output()}")
                if queued(broker, namespace) or not unacked(broker, namespace):
                    return False
                return engine.dialect.name == "sqlite" or waiting_on_tickets(engine)

            wait_until(fetched, "the worker to be inside ingest", context=processes.output)

            # When that worker is killed before it can finish or acknowledge
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        # (the store lock is released here)

        # And another worker starts
        processes.start("worker-2", [str(OMNIROUTE), "worker"], env, cwd=tmp_path)

        # Then the killed worker's message comes back and is processed
        wait_until(
            lambda: inbound_status(sessions, accepted.inbound_id) != "pending",
            "the second worker to handle the inbound record",
            context=processes.output,
        )
        assert inbound_status(sessions, accepted.inbound_id) == "processed", processes.output()
        # And exactly once: one ticket, one inbound message, nothing re-sent by the outbox
        assert count(sessions, select(func.count()).select_from(Ticket)) == 1
        assert count(sessions, select(func.count()).where(Message.direction == "inbound")) == 1
        assert count(sessions, select(func.count()).select_from(InboundRecord)) == 1
        assert (
            count(
                sessions,
                select(func.count()).where(
                    OutboxEntry.actor == "ingest", OutboxEntry.enqueued_at.is_not(None)
                ),
            )
            == 1
        )
    finally:
        broker.close()

"""A broker that forgets queued work delays it and loses none: the store is the truth.

Role processes as in production (``omniroute worker``, ``omniroute scheduler``) on
the test's store and a broker of its own, which is restarted with work queued and
forgets it (Redis without persistence; RabbitMQ's queues purged).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest import outbox
from ingest.models import InboundRecord, Message, OutboxEntry, Ticket, utcnow
from tests.edge import accept_mail
from tests.integration.support import (
    OMNIROUTE,
    BrokerServer,
    Processes,
    clean_env,
    free_port,
    wait_until,
)
from tests.mail import customer_mail
from workers.process.broker import queue_for

pytestmark = pytest.mark.integration

MAILS = 20


def count(sessions: sessionmaker[Session], query: Any) -> int:
    with sessions() as session:
        return int(session.execute(query).scalar_one())


def test_work_lost_by_a_broker_restart_is_processed_without_anyone_typing_a_command(
    settings: Settings,
    sessions: sessionmaker[Session],
    database_url: str,
    broker_server: BrokerServer,
    processes: Processes,
    tmp_path: Path,
) -> None:
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_BROKER_URL=broker_server.url,
        OMNIROUTE_BROKER_NAMESPACE=settings.broker_namespace,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_OUTBOX_POLL_SECONDS="0.1",
        OMNIROUTE_REDELIVER_AFTER_SECONDS="3",
    )
    # Given mails accepted while no worker runs
    for n in range(MAILS):
        raw = bytes(customer_mail(subject=f"Queued {n}", sender=f"c{n}@customer.test"))
        accept_mail(sessions, raw)
    # And a scheduler whose relay moved their work into the broker
    processes.start("scheduler", [str(OMNIROUTE), "scheduler"], env, cwd=tmp_path)
    # (a row the relay has claimed is handed over once its broker message id is recorded)
    handed_over = select(func.count()).where(
        OutboxEntry.broker_message_id.is_not(None),
        OutboxEntry.broker_message_id != outbox.RELAY_CLAIMED,
    )
    wait_until(
        lambda: count(sessions, handed_over) == MAILS,
        "the relay to hand every ingest to the broker",
        context=processes.output,
    )

    # When the broker restarts and forgets every queued message
    broker_server.restart_losing_messages(queue_for(broker_server.url, settings))
    # And a worker starts
    processes.start("worker", [str(OMNIROUTE), "worker"], env, cwd=tmp_path)

    # Then every mail is processed, with nobody typing a command
    pending = select(func.count()).where(InboundRecord.status != "processed")
    wait_until(
        lambda: count(sessions, pending) == 0,
        "every inbound record to be processed",
        timeout=120,
        context=processes.output,
    )
    # And exactly once: one ticket and one inbound message per mail
    assert count(sessions, select(func.count()).select_from(Ticket)) == MAILS
    assert count(sessions, select(func.count()).where(Message.direction == "inbound")) == MAILS
    # And the ingest work was handed to the broker again, not lost
    redelivered = select(func.count()).where(
        OutboxEntry.actor == outbox.INGEST, OutboxEntry.redeliveries > 0
    )
    assert count(sessions, redelivered) == MAILS
    # And the work that followed (triage, acknowledgements) is all done in the end
    undone = select(func.count()).where(OutboxEntry.done_at.is_(None))
    wait_until(
        lambda: count(sessions, undone) == 0,
        "all due work to be done",
        timeout=120,
        context=processes.output,
    )


def test_omniroute_run_hands_over_again_what_its_broker_lost_while_it_was_down(
    settings: Settings,
    sessions: sessionmaker[Session],
    database_url: str,
    processes: Processes,
    tmp_path: Path,
) -> None:
    # Given mails whose ingest went to a broker that lost it before the process stopped
    for n in range(3):
        raw = bytes(customer_mail(subject=f"Lost before restart {n}", sender=f"r{n}@cust.test"))
        accept_mail(sessions, raw)
    with sessions.begin() as session:
        session.execute(update(OutboxEntry).values(enqueued_at=utcnow() - timedelta(minutes=10)))
    # When `omniroute run` starts with its embedded Redis (empty: it kept nothing)
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_HTTP_PORT=str(free_port()),
        OMNIROUTE_SMTP_PORT=str(free_port()),
        OMNIROUTE_REDELIVER_AFTER_SECONDS="2",
    )
    processes.start("run", [str(OMNIROUTE), "run"], env, cwd=tmp_path)
    # Then its own scheduler hands the work over again and every mail becomes a ticket
    pending = select(func.count()).where(InboundRecord.status != "processed")
    wait_until(
        lambda: count(sessions, pending) == 0,
        "every inbound record to be processed",
        timeout=120,
        context=processes.output,
    )
    assert count(sessions, select(func.count()).select_from(Ticket)) == 3

"""Edges in other processes wake the outbox relay after a commit instead of waiting for its poll."""

from __future__ import annotations

import smtplib
import threading
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import InboundRecord, Ticket
from tests.integration.support import (
    OMNIROUTE,
    Processes,
    clean_env,
    free_port,
    listening,
    wait_until,
)
from tests.mail import customer_mail
from workers.process.wake import WakeSender, wake_listener

STORE = "sqlite:////tmp/omniroute-wake-test.db"


def test_a_sender_wakes_the_listener_of_its_store_only() -> None:
    # Given a relay listening for its store, and one for another store
    mine, other = threading.Event(), threading.Event()
    with (
        wake_listener(STORE, mine) as listening,
        wake_listener(STORE + "-other", other) as other_listening,
    ):
        assert listening and other_listening
        # When an edge on the first store signals work
        WakeSender(STORE)()
        # Then only that relay is woken
        assert mine.wait(10)
        assert not other.is_set()


def test_a_second_listener_on_one_store_polls_only_and_a_lone_sender_is_harmless() -> None:
    # Given a relay listening for a store
    first, second = threading.Event(), threading.Event()
    with wake_listener(STORE, first) as listening:
        assert listening
        # When a second relay on the same store and host starts
        with wake_listener(STORE, second) as second_listening:
            # Then it does not listen (it relies on its poll)
            assert not second_listening
    # And with nobody listening, signalling work neither fails nor blocks
    sender = WakeSender(STORE)
    for _ in range(1000):
        sender()


def test_omniroute_run_takes_mail_from_its_smtp_child_without_waiting_for_the_poll(
    database_url: str, sessions: sessionmaker[Session], processes: Processes, tmp_path: Path
) -> None:
    # Given `omniroute run` whose relay polls only once a minute
    smtp_port, http_port = free_port(), free_port()
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_HTTP_PORT=str(http_port),
        OMNIROUTE_SMTP_PORT=str(smtp_port),
        OMNIROUTE_OUTBOX_POLL_SECONDS="60",
    )
    processes.start("run", [str(OMNIROUTE), "run"], env, cwd=tmp_path)

    # (HTTP is served last: by then the relay has made its first pass and listens)
    for port in (smtp_port, http_port):
        wait_until(lambda port=port: listening(port), f"port {port}", context=processes.output)
    # When a customer's mail reaches the SMTP child (a process of its own)
    mail = customer_mail(subject="Woken relay", sender="wake@customer.test")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.send_message(mail, to_addrs=["support@example.com"])
    # Then it becomes a ticket well before the poll would have found it
    processed = select(func.count()).where(InboundRecord.status == "processed")

    def ticketed() -> bool:
        with sessions() as session:
            return bool(session.execute(processed).scalar_one() == 1)

    wait_until(ticketed, "the mail to become a ticket", timeout=30, context=processes.output)
    with sessions() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1

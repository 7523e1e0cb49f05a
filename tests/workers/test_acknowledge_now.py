"""A new ticket's acknowledgement leaves from the ingest worker right after its commit.

It is claimed outbox work: the relay and the broker never carry it while the worker
can send it; when the send fails, the row goes back to the relay and the
``acknowledge`` actor sends it with its retries, still once.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest import outbox
from ingest.models import AutomatedSend, OutboxEntry
from tests.edge import accept_mail
from tests.harness import MemoryTransport, Pipeline
from tests.mail import customer_mail


class FailsOnce(MemoryTransport):
    """Mail that cannot leave on the first try (the relay is briefly down)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        self.attempts += 1
        if self.attempts == 1:
            raise smtplib.SMTPServerDisconnected("connection lost")
        super().send(message, sender, recipients)


def acknowledgement_rows(sessions: sessionmaker[Session]) -> list[OutboxEntry]:
    with sessions() as session:
        return list(
            session.execute(
                select(OutboxEntry).where(OutboxEntry.actor == outbox.ACKNOWLEDGE)
            ).scalars()
        )


def test_the_acknowledgement_is_sent_by_the_ingest_worker_without_the_broker(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given a pipeline and a new customer mail
    pipe = Pipeline(settings, sessions)
    try:
        accept_mail(sessions, bytes(customer_mail(subject="Help", body="It broke.")))
        # When the workers run
        pipe.drain()
        # Then one acknowledgement went out and its outbox row is done without a broker
        # message: the ingest worker sent it itself
        assert len(pipe.transport.sent) == 1
        [row] = acknowledgement_rows(sessions)
        assert row.done_at is not None
        assert row.broker_message_id is None
        with sessions() as session:
            [send] = session.execute(select(AutomatedSend)).scalars()
        assert send.status == "sent"
    finally:
        pipe.close()


def test_an_acknowledgement_that_fails_goes_to_the_relay_and_is_sent_once(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given a pipeline whose outbound mail fails on the first try
    pipe = Pipeline(settings, sessions)
    failing = FailsOnce()
    pipe.transport.send = failing.send  # type: ignore[method-assign]
    try:
        accept_mail(sessions, bytes(customer_mail(subject="Help", body="It broke.")))
        # When the workers run
        pipe.drain()
        # Then the row went back to the relay, the acknowledge actor sent it, once
        assert failing.attempts == 2
        assert len(failing.sent) == 1
        [row] = acknowledgement_rows(sessions)
        assert row.done_at is not None
        assert row.broker_message_id is not None
        with sessions() as session:
            [send] = session.execute(select(AutomatedSend)).scalars()
        assert send.status == "sent"
    finally:
        pipe.close()

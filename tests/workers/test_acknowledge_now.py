"""A new ticket's acknowledgement leaves from the ingest worker right after its commit.

It is claimed outbox work: the relay and the broker never carry it while the worker
can send it; when the send fails, the row goes back to the relay and the
``acknowledge`` actor sends it with its retries, still once.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.email_sender import EmailSender
from channels.outbound import OutboundText
from config.settings import Settings
from ingest import outbox
from ingest.models import AutomatedSend, Message, OutboxEntry, Ticket
from tests.edge import accept_mail
from tests.harness import MemoryTransport, Pipeline
from tests.mail import customer_mail
from workers.outbound import acknowledge as acknowledge_module
from workers.outbound import send as send_module
from workers.outbound.acknowledge import PURPOSE as ACKNOWLEDGEMENT
from workers.process import actors as actors_module


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


def the_acknowledgement(sessions: sessionmaker[Session]) -> Message:
    with sessions() as session:
        [ack] = session.execute(select(Message).where(Message.kind == ACKNOWLEDGEMENT)).scalars()
        return ack


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


def test_the_send_is_prepared_in_the_transaction_that_opens_the_ticket(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pipeline whose outbound mail leaves only after the ingest has committed
    pipe = Pipeline(settings, sessions)
    seen: list[tuple[str | None, str | None]] = []
    send = pipe.transport.send

    def observe(message: EmailMessage, sender: str, recipients: list[str]) -> None:
        ack = the_acknowledgement(sessions)
        seen.append((ack.delivery_state, ack.message_id_header))
        send(message, sender, recipients)

    monkeypatch.setattr(pipe.transport, "send", observe)
    try:
        accept_mail(sessions, bytes(customer_mail(subject="Help", body="It broke.")))
        # When the workers run
        pipe.drain()
        # Then at the send the acknowledgement was already committed as ``sending``
        # with the Message-ID it went out with
        [(state, reference)] = seen
        assert state == "sending"
        assert reference == pipe.transport.sent[0][0]["Message-ID"]
        assert the_acknowledgement(sessions).delivery_state == "sent"
    finally:
        pipe.close()


def test_the_send_prepared_inline_takes_the_recipient_the_plan_found(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a count of the sends that look up their recipient in the store
    looked_up: list[int] = []
    recipient_of = send_module.recipient_of

    def counted(*args: Any) -> Any:
        looked_up.append(1)
        return recipient_of(*args)

    monkeypatch.setattr(send_module, "recipient_of", counted)
    pipe = Pipeline(settings, sessions)
    try:
        # When a new customer's mail is acknowledged from the ingest's plan
        accept_mail(sessions, bytes(customer_mail(subject="Help", sender="cy@customer.test")))
        pipe.drain()
        # Then the send went to the address the plan found, without reading it again
        [(_, recipients)] = pipe.transport.sent
        assert recipients == ["cy@customer.test"]
        assert looked_up == []
    finally:
        pipe.close()


def test_a_bug_preparing_the_send_inline_leaves_the_ticket_and_sends_it_on_its_own(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the acknowledgement's text fails once with a bug
    calls: list[int] = []
    text_for = acknowledge_module._text_of

    def fails_once(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("template bug")
        return text_for(*args)

    monkeypatch.setattr(acknowledge_module, "_text_of", fails_once)
    pipe = Pipeline(settings, sessions)
    try:
        accept_mail(sessions, bytes(customer_mail(subject="Help", body="It broke.")))
        # When the workers run
        pipe.drain()
        # Then the ticket was made, and the acknowledgement sent once, on its own
        with sessions() as session:
            assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1
            [send] = session.execute(select(AutomatedSend)).scalars()
        assert send.status == "sent"
        assert len(pipe.transport.sent) == 1
        assert len(calls) == 2
        [row] = acknowledgement_rows(sessions)
        assert row.done_at is not None
    finally:
        pipe.close()


def test_the_text_prepared_inline_is_the_text_prepared_on_its_own(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pipeline that records what the email sender is asked to send
    texts: list[OutboundText] = []
    send = EmailSender.send

    def recording(self: EmailSender, text: OutboundText) -> Any:
        texts.append(text)
        return send(self, text)

    monkeypatch.setattr(EmailSender, "send", recording)
    pipe = Pipeline(settings, sessions)
    try:
        # When one mail is acknowledged from what the ingest planned, and a second
        # after the inline preparation failed, read back from the store on its own
        accept_mail(sessions, bytes(customer_mail(subject="First", sender="ann@customer.test")))
        pipe.drain()
        monkeypatch.setattr(actors_module, "_prepare_inline", lambda *_: None)
        accept_mail(sessions, bytes(customer_mail(subject="Second", sender="bob@customer.test")))
        pipe.drain()
        # Then both texts are built alike from their own tickets
        inline, standalone = texts
        with sessions() as session:
            firsts = session.execute(
                select(Message).where(Message.direction == "inbound").order_by(Message.id)
            ).scalars()
            for text, first in zip((inline, standalone), firsts, strict=True):
                assert text.ticket_number == first.ticket_id
                assert text.in_reply_to == first.message_id_header
                assert text.subject == first.subject
                assert text.recipient.value == first.sender
                assert text.customer_wrote_at == first.created_at
                assert text.purpose == ACKNOWLEDGEMENT
        assert inline.body.replace(str(inline.ticket_number), "#") == standalone.body.replace(
            str(standalone.ticket_number), "#"
        )
    finally:
        pipe.close()

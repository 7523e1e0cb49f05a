"""The email forward through the real SMTP transport to a local aiosmtpd sink."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session, sessionmaker

from channels.email_out import SmtpTransport
from config.settings import Settings
from normalize.references import ticket_from_message_id
from tests.mail import customer_mail
from tests.servers import SinkHandler, free_port, smtp_sink
from tests.workers.desk_support import Desks, rules_with
from workers.delivery.planning import MESSAGE_APPENDED

DESTINATIONS = """
  forward:
    type: email
    to: desk@other-desk.test
    mode: attach
    max_attempts: 3
    backoff_base_seconds: 0.01
  resend:
    type: email
    to: desk@other-desk.test
    mode: resend
"""


@pytest.fixture
def sink() -> Iterator[tuple[SinkHandler, int]]:
    with smtp_sink() as (handler, port):
        yield handler, port


@pytest.fixture
def desks(
    settings: Settings, sessions: sessionmaker[Session], sink: tuple[SinkHandler, int]
) -> Iterator[Desks]:
    transport = SmtpTransport(f"smtp://127.0.0.1:{sink[1]}", timeout=5)
    with Desks(settings, sessions, rules_with(DESTINATIONS), transport) as harness:
        yield harness


def parts(message: Message) -> list[Message]:
    payload = message.get_payload()
    assert isinstance(payload, list)
    return [part for part in payload if isinstance(part, Message)]


def text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def only_mail(sink: tuple[SinkHandler, int]) -> tuple[str, list[str], Message]:
    [received] = sink[0].messages
    return received


def test_attach_mode_sends_a_cover_note_with_the_original_attached(
    desks: Desks, sink: tuple[SinkHandler, int], settings: Settings
) -> None:
    # Given a customer mail that became a ticket
    original = customer_mail(subject="Charged twice", body="My card was charged twice.")
    ticket, message = desks.ticket(original, priority="high")
    # When it is forwarded in attach mode
    delivery = desks.hand_off(ticket, message, "forward")
    # Then the desk got our note, from us, with Reply-To the customer and the original attached
    mail_from, recipients, mail = only_mail(sink)
    assert (mail_from, recipients) == ("support@example.com", ["desk@other-desk.test"])
    assert mail["Reply-To"] == "Jane Doe <jane@customer.test>"
    assert mail["Subject"] == f"[Ticket #{ticket}] Charged twice"
    assert mail["From"] == "Jane Doe via Support <support@example.com>"
    cover, attached = parts(mail)
    assert "My card was charged twice." in text_of(cover)
    assert attached.get_content_type() == "message/rfc822"
    [inner] = parts(attached)
    assert inner["Message-ID"] == original["Message-ID"]
    assert inner["Subject"] == "Charged twice"
    # And the recorded external id is the forward's Message-ID, signed as ours
    state = desks.state(delivery)
    assert (state.status, state.external_id) == ("delivered", mail["Message-ID"])
    assert ticket_from_message_id(settings.signing_key, mail["Message-ID"]) == ticket


def test_resend_mode_sends_the_original_with_its_headers(
    desks: Desks, sink: tuple[SinkHandler, int]
) -> None:
    # Given a customer mail with a Reply-To of its own
    original = customer_mail(subject="Charged twice", headers={"Reply-To": "other@customer.test"})
    ticket, message = desks.ticket(original)
    # When it is forwarded in resend mode
    delivery = desks.hand_off(ticket, message, "resend")
    # Then the desk got the original's headers, Resent-* headers, and Reply-To the customer
    _, recipients, mail = only_mail(sink)
    assert recipients == ["desk@other-desk.test"]
    assert (mail["From"], mail["Subject"], mail["Message-ID"]) == (
        original["From"],
        "Charged twice",
        original["Message-ID"],
    )
    assert mail["Resent-To"] == "desk@other-desk.test"
    assert mail["Resent-From"] == "Jane Doe via Support <support@example.com>"
    assert mail.get_all("Reply-To") == ["Jane Doe <jane@customer.test>"]
    assert desks.state(delivery).external_id == original["Message-ID"]


def test_a_follow_up_forward_refers_to_the_first_one(
    desks: Desks, sink: tuple[SinkHandler, int]
) -> None:
    # Given a forwarded ticket
    ticket, message = desks.ticket(customer_mail(subject="Charged twice"))
    desks.hand_off(ticket, message, "forward")
    first = sink[0].messages[0][2]
    # When the customer's reply is forwarded
    _, reply = desks.receive(customer_mail(subject="Re: [Ticket #1] Charged twice", body="Hi?"))
    desks.run(desks.plan(ticket, reply, "forward", MESSAGE_APPENDED))
    # Then it names the first forward, so the desk threads it onto the same ticket
    follow_up = sink[0].messages[1][2]
    assert follow_up["In-Reply-To"] == first["Message-ID"]
    assert follow_up["References"] == first["Message-ID"]
    assert follow_up["Reply-To"] == "Jane Doe <jane@customer.test>"


def test_every_attempt_of_one_delivery_carries_the_same_message_id(
    desks: Desks, sink: tuple[SinkHandler, int]
) -> None:
    # Given a forward that the relay refuses once with a temporary error
    ticket, message = desks.ticket(customer_mail())
    refusing = Controller(_Refusing(), hostname="127.0.0.1", port=free_port())
    refusing.start()
    try:
        relay = SmtpTransport(f"smtp://127.0.0.1:{refusing.port}", timeout=5)
        desks.context = replace(desks.context, mail=relay)
        delivery = desks.hand_off(ticket, message, "forward")
        first_try = refusing.handler.seen
    finally:
        refusing.stop()
    # When the retry reaches the working relay
    desks.context = replace(
        desks.context, mail=SmtpTransport(f"smtp://127.0.0.1:{sink[1]}", timeout=5)
    )
    desks.make_due(delivery)
    desks.run(delivery)
    # Then both attempts carried one Message-ID, so the desk can keep one ticket
    _, _, mail = only_mail(sink)
    assert first_try == [mail["Message-ID"]]
    assert desks.state(delivery).outcomes == ["retry", "delivered"]


def test_a_permanent_relay_refusal_is_rejected(
    desks: Desks, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given a relay that refuses the recipient permanently
    refusing = Controller(_Refusing(code=550), hostname="127.0.0.1", port=free_port())
    refusing.start()
    try:
        transport = SmtpTransport(f"smtp://127.0.0.1:{refusing.port}", timeout=5)
        with Desks(settings, sessions, rules_with(DESTINATIONS), transport) as harness:
            ticket, message = harness.ticket(customer_mail())
            # When the ticket is forwarded
            delivery = harness.hand_off(ticket, message, "forward")
            state = harness.state(delivery)
    finally:
        refusing.stop()
    # Then it is rejected with the relay's answer, not retried
    assert (state.status, state.attempts) == ("rejected", 1)
    assert state.last_error is not None and state.last_error.startswith("SMTP 550")


class _Refusing:
    """An SMTP server that refuses every message at DATA, remembering its Message-ID."""

    def __init__(self, code: int = 451) -> None:
        self.code = code
        self.seen: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        headers = message_from_bytes(getattr(envelope, "content", b""))
        self.seen.append(str(headers["Message-ID"]))
        return f"{self.code} {'4.3.0 try later' if self.code < 500 else '5.7.1 not accepted'}"

"""The ``send_reply`` actor: an agent's reply reaches the customer once, threaded, signed."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import getaddresses

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest import outbox
from ingest.agent_reply import ReplyRequest, record_reply
from ingest.db import unit_of_work
from ingest.models import AutomatedSend, Identity, Message, Ticket, utcnow
from ingest.queries import first_inbound
from normalize.references import (
    signed_reply_address,
    ticket_from_address,
    ticket_from_message_id,
)
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    pipe = Pipeline(settings, sessions)
    yield pipe
    pipe.close()


def open_ticket(pipeline: Pipeline, sessions: sessionmaker[Session], **mail: str) -> int:
    """A ticket from jane's mail, triaged and acknowledged; its number."""
    send(sessions, bytes(customer_mail(**mail)))
    pipeline.drain()
    with sessions() as session:
        return session.execute(select(Ticket.id).order_by(Ticket.id.desc())).scalars().first() or 0


def reply(
    sessions: sessionmaker[Session], number: int, body: str = "Please try again now.", **extra: str
) -> int:
    with unit_of_work(sessions) as session:
        message = record_reply(session, number, ReplyRequest(body=body, author="alice", **extra))
        assert message is not None
        return message.id


def replies_sent(pipeline: Pipeline) -> list[tuple[EmailMessage, list[str]]]:
    """Mail the transport took that is not an acknowledgement."""
    return [(m, to) for m, to in pipeline.transport.sent if m["Auto-Submitted"] is None]


def stored_message(sessions: sessionmaker[Session], message_id: int) -> Message:
    with sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def test_a_reply_is_mailed_to_the_customer_threaded_and_signed(
    pipeline: Pipeline, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given jane's ticket, acknowledged, and a second mail from her on it
    number = open_ticket(pipeline, sessions, subject="Cannot log in")
    with sessions() as session:
        first = first_inbound(session, number)
        assert first is not None
    follow_up = customer_mail(subject=f"Re: [Ticket #{number}] Cannot log in", body="Still no.")
    send(sessions, bytes(follow_up))
    pipeline.drain()
    # When alice replies and the workers run
    reply_id = reply(sessions, number, "Please try again now.")
    pipeline.drain()
    # Then one mail went to jane, as a person's reply (no RFC 3834 headers)
    ((mail, recipients),) = replies_sent(pipeline)
    assert recipients == ["jane@customer.test"]
    assert getaddresses([mail["To"]]) == [("Jane Doe", "jane@customer.test")]
    assert getaddresses([mail["From"]]) == [("alice (Support)", settings.from_address)]
    assert mail["Auto-Submitted"] is None and mail["X-Auto-Response-Suppress"] is None
    assert mail["Subject"] == f"[Ticket #{number}] Re: Cannot log in"
    assert mail.get_content() == "Please try again now.\n"
    # And it answers jane's last mail, naming the conversation before it
    assert mail["In-Reply-To"] == follow_up["Message-ID"]
    references = str(mail["References"]).split()
    assert references[0] == first.message_id_header
    assert references[-1] == follow_up["Message-ID"]
    # And its Message-ID and Reply-To are signed for this ticket
    assert ticket_from_message_id(settings.signing_key, mail["Message-ID"]) == number
    ((_, reply_to),) = getaddresses([mail["Reply-To"]])
    assert ticket_from_address(settings.signing_key, reply_to) == number
    assert reply_to == signed_reply_address(settings.signing_key, settings.from_address, number)
    # And the message records the Message-ID it was sent with
    sent = stored_message(sessions, reply_id)
    assert sent.external_id == sent.message_id_header == mail["Message-ID"]


def test_a_reply_is_sent_once_when_its_work_runs_twice(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a reply the workers already sent
    number = open_ticket(pipeline, sessions)
    reply_id = reply(sessions, number)
    pipeline.drain()
    # When its work is delivered again (a redelivered broker message)
    with unit_of_work(sessions) as session:
        outbox.add_work(session, outbox.SEND_REPLY, message_id=reply_id)
    pipeline.drain()
    # Then the customer got it once, with the Message-ID recorded the first time
    ((mail, _),) = replies_sent(pipeline)
    assert stored_message(sessions, reply_id).external_id == mail["Message-ID"]


def test_replies_are_not_held_back_by_the_automated_send_limit(
    pipeline: Pipeline, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given jane already got as many automated mails this hour as the limit allows
    number = open_ticket(pipeline, sessions)
    with unit_of_work(sessions) as session:
        for purpose in range(settings.automated_sends_per_hour):
            session.add(
                AutomatedSend(
                    ticket_id=number,
                    purpose=f"notice-{purpose}",
                    recipient="jane@customer.test",
                    status="sent",
                    created_at=utcnow(),
                )
            )
    # When alice replies twice
    reply(sessions, number, "First answer.")
    reply(sessions, number, "Second answer.")
    pipeline.drain()
    # Then both replies went out (in either order: two workers send them)
    assert sorted(m.get_content() for m, _ in replies_sent(pipeline)) == [
        "First answer.\n",
        "Second answer.\n",
    ]


def test_a_reply_is_never_sent_to_an_address_that_started_bouncing(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a reply queued for jane, and then her address bounced before it went out
    number = open_ticket(pipeline, sessions)
    reply_id = reply(sessions, number)
    with unit_of_work(sessions) as session:
        identity = session.execute(
            select(Identity).where(Identity.value == "jane@customer.test")
        ).scalar_one()
        identity.bouncing_since = utcnow()
    # When the workers run
    pipeline.drain()
    # Then nothing was mailed and the reply says why
    assert replies_sent(pipeline) == []
    message = stored_message(sessions, reply_id)
    assert message.external_id is None
    assert message.warnings == ["not sent: the customer's address bounces"]


def test_the_customers_answer_to_a_reply_threads_back_and_reopens_the_ticket(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given alice's reply, setting the ticket pending, in jane's mailbox
    number = open_ticket(pipeline, sessions, subject="Cannot log in")
    reply(sessions, number, "Which browser do you use?", status="pending")
    pipeline.drain()
    ((ours, _),) = replies_sent(pipeline)
    # When jane answers it with a subject of her own, without the ticket tag
    answer = customer_mail(subject="browser", body="Firefox.", in_reply_to=ours["Message-ID"])
    send(sessions, bytes(answer))
    pipeline.drain()
    # Then her answer lands on the ticket by our signed Message-ID, and the ticket is open
    with sessions() as session:
        landed = session.execute(
            select(Message).where(Message.message_id_header == answer["Message-ID"])
        ).scalar_one()
        assert (landed.ticket_id, landed.thread_signal) == (number, "signed-message-id")
        ticket = session.get(Ticket, number)
        assert ticket is not None and ticket.status == "open"


def test_an_answer_sent_to_the_reply_to_address_threads_back(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given alice's reply in jane's mailbox
    number = open_ticket(pipeline, sessions)
    reply(sessions, number)
    pipeline.drain()
    ((ours, _),) = replies_sent(pipeline)
    ((_, reply_to),) = getaddresses([ours["Reply-To"]])
    # When jane writes to its Reply-To address from a client that drops every header
    send(sessions, bytes(customer_mail(to=reply_to, subject="hello", body="Works now.")))
    pipeline.drain()
    # Then her mail lands on the ticket by the signed address
    with sessions() as session:
        landed = session.execute(
            select(Message).where(Message.body_text.like("Works now.%"))
        ).scalar_one()
        assert (landed.ticket_id, landed.thread_signal) == (number, "signed-reply-address")

"""Agent replies go out on the channel of the customer's latest message, or on another
channel the customer has an identity on when the agent names it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels import reply_senders
from config.settings import Settings
from ingest.agent_reply import ReplyRefused, ReplyRequest, record_reply
from ingest.db import unit_of_work
from ingest.models import Message
from normalize import parsers
from tests.channels.pigeon.adapter import accept_note
from tests.channels.pigeon.parser import CHANNEL, parse_pigeon
from tests.channels.pigeon.sender import Loft, PigeonSender
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send


@pytest.fixture
def loft() -> Loft:
    return Loft()


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session], loft: Loft) -> Iterator[Pipeline]:
    parsers.register(CHANNEL, parse_pigeon)
    reply_senders.register(CHANNEL, lambda resources: PigeonSender(loft))
    pipe = Pipeline(settings, sessions)
    yield pipe
    pipe.close()


def jane_on_both_channels(pipeline: Pipeline, sessions: sessionmaker[Session]) -> None:
    """Ticket 1 by mail; ticket 2 by pigeon, from a phone proven to be jane's."""
    send(sessions, bytes(customer_mail(subject="Invoice question")))
    pipeline.drain()
    accept_note(
        sessions,
        {
            "id": "n1",
            "from": "+15550100",
            "to": "+15550999",
            "text": "Also: my parcel",
            "email": "jane@customer.test",
            "email_verified": True,
        },
    )
    pipeline.drain()


def reply(sessions: sessionmaker[Session], number: int, channel: str | None = None) -> int:
    with unit_of_work(sessions) as session:
        message = record_reply(
            session, number, ReplyRequest(body="Done.", author="Sam", channel=channel)
        )
        assert message is not None
        return message.id


def stored(sessions: sessionmaker[Session], message_id: int) -> Message:
    with sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def test_a_reply_goes_out_on_the_channel_of_the_latest_message(
    pipeline: Pipeline, sessions: sessionmaker[Session], loft: Loft
) -> None:
    # Given jane's pigeon ticket
    jane_on_both_channels(pipeline, sessions)
    # When an agent replies on it
    reply_id = reply(sessions, 2)
    pipeline.drain()
    # Then the reply went by pigeon to her phone, and no mail was written for it
    assert [(n.purpose, n.recipient.value) for n in loft.notes] == [("reply", "+15550100")]
    assert (stored(sessions, reply_id).channel, stored(sessions, reply_id).delivery_state) == (
        CHANNEL,
        "sent",
    )


def test_an_agent_can_answer_on_another_channel_of_the_customer(
    pipeline: Pipeline, sessions: sessionmaker[Session], loft: Loft
) -> None:
    # Given jane's email ticket, and her proven phone
    jane_on_both_channels(pipeline, sessions)
    mails_before = len(pipeline.transport.sent)
    # When an agent answers the email ticket by pigeon
    reply_id = reply(sessions, 1, channel=CHANNEL)
    pipeline.drain()
    # Then it reaches her phone, not her inbox
    assert [n.recipient.value for n in loft.notes] == ["+15550100"]
    assert len(pipeline.transport.sent) == mails_before
    assert stored(sessions, reply_id).channel == CHANNEL


def test_a_channel_the_customer_never_used_is_refused(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a customer known only by email
    send(sessions, bytes(customer_mail()))
    pipeline.drain()
    # When an agent asks to answer by pigeon
    # Then the reply is refused with the reason, and nothing is stored
    with pytest.raises(ReplyRefused, match="no identity on channel 'pigeon'"):
        reply(sessions, 1, channel=CHANNEL)

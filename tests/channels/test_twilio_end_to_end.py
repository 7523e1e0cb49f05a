"""End to end by text: a text opens a ticket, the agent answers with ``omniroute tickets
reply``, Twilio reports it delivered, and the customer's next text joins the ticket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.twilio_media import fetch_media
from config.settings import Settings
from ingest.accept import accept_raw
from ingest.db import unit_of_work
from ingest.models import Message, Ticket
from ingest.pipeline import process_inbound
from tests.channels.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, TwilioFake
from tests.channels.twilio_support import (
    CUSTOMER,
    OUR_NUMBER,
    SMS_PATH,
    STATUS_PATH,
    params,
    post_signed,
    twilio_edge,
    twilio_settings,
)
from tests.harness import Pipeline
from workers.cli import main


@pytest.fixture
def fake() -> Iterator[TwilioFake]:
    with TwilioFake() as server:
        yield server


@pytest.fixture
def configured(settings: Settings, fake: TwilioFake) -> Settings:
    return twilio_settings(settings, api_url=fake.url)


def test_text_ticket_reply_by_text_delivered_and_the_next_text_threads(
    configured: Settings,
    sessions: sessionmaker[Session],
    fake: TwilioFake,
    database_url: str,
) -> None:
    pipeline = Pipeline(configured, sessions)
    env = {
        "OMNIROUTE_DATABASE_URL": database_url,
        "OMNIROUTE_DATA_DIR": str(configured.data_dir),
        "OMNIROUTE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "OMNIROUTE_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "OMNIROUTE_TWILIO_NUMBERS": OUR_NUMBER,
        "OMNIROUTE_TWILIO_API_URL": fake.url,
    }
    try:
        with twilio_edge(configured, sessions) as edge:
            # Given a customer's text, signed by Twilio
            assert post_signed(edge, SMS_PATH, params("sms")).status_code == 200
            pipeline.drain()
            (ticket,) = _tickets(sessions)
            # Then the ticket's JSON view says it came by SMS
            shown = CliRunner().invoke(main, ["tickets", "show", str(ticket.id), "--json"], env=env)
            assert shown.exit_code == 0, shown.output
            assert json.loads(shown.output)["channel"] == "sms"
            # And the ticket and the list name the customer by the number that texted
            text = CliRunner().invoke(main, ["tickets", "show", str(ticket.id)], env=env)
            assert f"Customer:  {CUSTOMER} (phone)" in text.output
            listed = CliRunner().invoke(main, ["tickets", "list"], env=env)
            assert f"{CUSTOMER}  " in listed.output
            # When the agent replies from the command line
            result = CliRunner().invoke(
                main,
                ["tickets", "reply", str(ticket.id), "Your parcel ships today.", "--author", "Sam"],
                env=env,
            )
            assert result.exit_code == 0, result.output
            pipeline.drain()
            # Then it was texted to the customer from our number
            (sent,) = fake.sent
            assert (sent["To"], sent["From"], sent["Body"]) == (
                CUSTOMER,
                OUR_NUMBER,
                "Your parcel ships today.",
            )
            # When Twilio reports it delivered
            delivered = params("status_delivered", sid=sent["Sid"])
            assert post_signed(edge, STATUS_PATH, delivered).status_code == 200
            pipeline.drain()
            with sessions() as session:
                answer = session.execute(
                    select(Message).where(Message.kind == "reply")
                ).scalar_one()
            assert answer.delivery_state == "delivered"
            # And the customer texts again
            again = params("sms") | {
                "Body": "Great, thanks!",
                "MessageSid": "SM" + "9" * 32,
                "SmsSid": "SM" + "9" * 32,
                "SmsMessageSid": "SM" + "9" * 32,
            }
            assert post_signed(edge, SMS_PATH, again).status_code == 200
            pipeline.drain()
    finally:
        pipeline.close()
    # Then the next text is on the same ticket, threaded by the conversation
    assert len(_tickets(sessions)) == 1
    with sessions() as session:
        inbound = session.execute(
            select(Message.body_text, Message.thread_signal)
            .where(Message.direction == "inbound")
            .order_by(Message.id)
        ).all()
    assert [tuple(row) for row in inbound] == [
        ("My order 1234 never arrived", "new-ticket"),
        ("Great, thanks!", "conversation"),
    ]


def test_a_media_download_that_fails_for_now_is_noted_on_the_message_until_it_works(
    configured: Settings, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given an MMS stored and ingested, and Twilio's media failing for now
    fake.media["ME" + "0" * 32] = ("image/jpeg", b"jpeg")
    fake.media["ME" + "1" * 32] = ("image/png", b"png")
    accepted = accept_raw(
        sessions,
        channel="twilio",
        dedupe_key="twilio:MM1",
        raw=urlencode(params("mms", api=fake.url)).encode(),
        envelope={"content_type": "form"},
    )
    with unit_of_work(sessions) as session:
        process_inbound(session, accepted.inbound_id, configured)
    fake.fail_next(503, method="GET", path="/2010-04-01/", times=2)
    # When the worker tries
    with httpx.Client() as http:
        waiting = fetch_media(sessions, configured, http, accepted.inbound_id)
        # Then both wait for a retry, and the message says so with the reason
        assert waiting == 2
        assert _warnings(sessions) == [
            "media 0: download failed, retrying: Twilio answered 503",
            "media 1: download failed, retrying: Twilio answered 503",
        ]
        # When the retry works, the notes are gone and both are attachments
        assert fetch_media(sessions, configured, http, accepted.inbound_id) == 0
    assert _warnings(sessions) == []
    with sessions() as session:
        message = session.execute(
            select(Message).where(Message.direction == "inbound")
        ).scalar_one()
        assert [a.filename for a in message.attachments] == ["media-0.jpg", "media-1.png"]


def _warnings(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        message = session.execute(
            select(Message).where(Message.direction == "inbound")
        ).scalar_one()
        return [str(w) for w in message.warnings]


def _tickets(sessions: sessionmaker[Session]) -> list[Ticket]:
    with sessions() as session:
        return list(session.execute(select(Ticket).order_by(Ticket.id)).scalars())

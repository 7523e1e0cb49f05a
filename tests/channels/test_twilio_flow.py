"""SMS, MMS and WhatsApp through the whole path: signed webhook, workers, replies by text.

Twilio's REST API is a local fake (``twilio_fake``) driven by the real ``twilio``
client; webhooks are signed with the library's own signing and posted over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.agent_reply import ReplyRequest, record_reply
from ingest.blobs import attachment_key, blob_store_for
from ingest.db import unit_of_work
from ingest.identity import suppression_of
from ingest.models import (
    Attachment,
    AutomatedSend,
    Identity,
    InboundRecord,
    Message,
    Ticket,
    TwilioMedia,
    utcnow,
)
from normalize.types import Party, PartyKind
from tests.channels.twilio_fake import TwilioFake, twilio_error
from tests.channels.twilio_support import (
    CUSTOMER,
    OUR_NUMBER,
    PUBLIC_URL,
    SMS_PATH,
    STATUS_PATH,
    params,
    post_signed,
    twilio_edge,
    twilio_settings,
)
from tests.harness import Pipeline

PHONE = Party(PartyKind.PHONE, CUSTOMER)


@pytest.fixture
def fake() -> Iterator[TwilioFake]:
    with TwilioFake() as server:
        yield server


@pytest.fixture
def configured(settings: Settings, fake: TwilioFake) -> Settings:
    return twilio_settings(settings, api_url=fake.url)


@pytest.fixture
def pipeline(configured: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    pipe = Pipeline(configured, sessions)
    yield pipe
    pipe.close()


@pytest.fixture
def edge(configured: Settings, sessions: sessionmaker[Session]) -> Iterator[httpx.Client]:
    with twilio_edge(configured, sessions) as client:
        yield client


def text(edge: httpx.Client, body: str, sid: str, fixture: str = "sms") -> None:
    form = params(fixture) | {"Body": body, "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid}
    assert post_signed(edge, SMS_PATH, form).status_code == 200


def tickets(sessions: sessionmaker[Session]) -> list[Ticket]:
    with sessions() as session:
        return list(session.execute(select(Ticket).order_by(Ticket.id)).scalars())


def reply(sessions: sessionmaker[Session], number: int, body: str) -> int:
    with unit_of_work(sessions) as session:
        stored = record_reply(session, number, ReplyRequest(body=body, author="Sam"))
        assert stored is not None
        return stored.id


def message(sessions: sessionmaker[Session], message_id: int) -> Message:
    with sessions() as session:
        found = session.get(Message, message_id)
        assert found is not None
        return found


def test_an_sms_opens_a_ticket_on_the_sms_channel_without_a_paid_acknowledgement(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given a customer's text
    text(edge, "My order 1234 never arrived", "SM" + "1" * 32)
    # When the workers run
    pipeline.drain()
    # Then one SMS ticket holds it, from the customer's verified phone identity
    (ticket,) = tickets(sessions)
    assert (ticket.channel, ticket.subject) == ("sms", "My order 1234 never arrived")
    with sessions() as session:
        identity = session.execute(select(Identity)).scalar_one()
        assert (identity.kind, identity.value, identity.verified) == ("phone", CUSTOMER, True)
        ack = session.execute(select(AutomatedSend)).scalar_one()
    # And no acknowledgement was texted: SMS acknowledgements are off by default
    assert (ack.status, ack.reason) == ("suppressed", "no acknowledgement on channel sms")
    assert fake.sent == []


def test_the_acknowledgement_is_texted_when_turned_on(
    configured: Settings, sessions: sessionmaker[Session], edge: httpx.Client, fake: TwilioFake
) -> None:
    # Given acknowledgements on for SMS
    acks = configured.model_copy(update={"acknowledge_channels": ("email", "sms")})
    pipe = Pipeline(acks, sessions)
    try:
        # When a customer texts
        text(edge, "My order 1234 never arrived", "SM" + "1" * 32)
        pipe.drain()
    finally:
        pipe.close()
    # Then the acknowledgement went from our number to theirs, with a status callback
    (sent,) = fake.sent
    (ticket,) = tickets(sessions)
    assert (sent["To"], sent["From"]) == (CUSTOMER, OUR_NUMBER)
    assert sent["StatusCallback"] == PUBLIC_URL + STATUS_PATH
    assert f"#{ticket.id}" in sent["Body"]
    # And the stored acknowledgement carries Twilio's MessageSid
    with sessions() as session:
        ack = session.execute(select(Message).where(Message.kind == "acknowledgement")).scalar_one()
    assert (ack.channel, ack.delivery_state, ack.external_id) == ("sms", "sent", sent["Sid"])


def test_every_mms_media_item_is_downloaded_and_kept(
    edge: httpx.Client,
    pipeline: Pipeline,
    sessions: sessionmaker[Session],
    fake: TwilioFake,
    configured: Settings,
) -> None:
    # Given an MMS with two images on Twilio's media host
    fake.media["ME" + "0" * 32] = ("image/jpeg", b"\xff\xd8jpeg-bytes")
    fake.media["ME" + "1" * 32] = ("image/png", b"\x89PNGpng-bytes")
    assert post_signed(edge, SMS_PATH, params("mms", api=fake.url)).status_code == 200
    # When the workers run
    pipeline.drain()
    # Then both images are attachments of the message, content-addressed in the store
    with sessions() as session:
        attachments = session.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
        states = session.execute(select(TwilioMedia.status)).scalars().all()
    assert [(a.filename, a.content_type, a.size) for a in attachments] == [
        ("media-0.jpg", "image/jpeg", 12),
        ("media-1.png", "image/png", 13),
    ]
    assert blob_store_for(configured).get(attachment_key(attachments[1].sha256)) == (
        b"\x89PNGpng-bytes"
    )
    assert states == ["stored", "stored"]
    # And each was fetched with the account's credentials, following Twilio's redirect
    media_calls = fake.calls("GET", "/2010-04-01/")
    assert len(media_calls) == len(fake.calls("GET", "/cdn/")) == 2
    assert all(c.authorized for c in media_calls)


def test_a_failed_media_download_is_recorded_on_the_message_and_retried(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given an MMS whose second image Twilio fails to serve once
    fake.media["ME" + "0" * 32] = ("image/jpeg", b"jpeg")
    fake.media["ME" + "1" * 32] = ("image/png", b"png")
    fake.fail_next(503, method="GET", path=f"/2010-04-01/Accounts/{fake.account_sid}/Messages/MM1b")
    # When the MMS arrives and the workers run (retrying with backoff)
    assert post_signed(edge, SMS_PATH, params("mms", api=fake.url)).status_code == 200
    pipeline.drain()
    # Then the failure was recorded on the item and the retry stored both images
    with sessions() as session:
        media = session.execute(select(TwilioMedia).order_by(TwilioMedia.position)).scalars().all()
        stored = session.execute(select(Message).where(Message.direction == "inbound")).scalar_one()
    # (the first image, fetched first, met the failure)
    assert [(m.status, m.attempts) for m in media] == [("stored", 2), ("stored", 1)]
    # And the retry's warning is gone once it worked
    assert stored.warnings == []


def test_a_media_item_that_cannot_be_had_is_kept_as_a_refused_attachment_with_its_reason(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given an MMS: the first image is gone on Twilio, the second is on a host that is not Twilio's
    form = params("mms", api=fake.url) | {"MediaUrl1": "https://media.example.net/steal.png"}
    # When it arrives and the workers run
    assert post_signed(edge, SMS_PATH, form).status_code == 200
    pipeline.drain()
    # Then both are listed on the message with why they were not stored
    with sessions() as session:
        attachments = session.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
        inbound = session.execute(
            select(Message).where(Message.direction == "inbound")
        ).scalar_one()
    assert [(a.filename, a.refused_reason) for a in attachments] == [
        ("media-0.jpg", "Twilio answered 404"),
        ("media-1.png", "not a Twilio media host: media.example.net"),
    ]
    assert "media 1: not stored: not a Twilio media host: media.example.net" in inbound.warnings
    # And no request went to the foreign host (nothing to assert there) nor twice to Twilio
    assert len(fake.calls("GET", "/2010-04-01/")) == 1


def test_an_agent_reply_is_texted_from_the_number_the_customer_wrote_to(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given an SMS ticket
    text(edge, "My order 1234 never arrived", "SM" + "1" * 32)
    pipeline.drain()
    (ticket,) = tickets(sessions)
    # When an agent replies
    reply_id = reply(sessions, ticket.id, "It ships today.")
    pipeline.drain()
    # Then Twilio was asked to text it, and its MessageSid is stored
    (sent,) = fake.sent
    assert (sent["To"], sent["From"], sent["Body"]) == (CUSTOMER, OUR_NUMBER, "It ships today.")
    stored = message(sessions, reply_id)
    assert (stored.channel, stored.delivery_state, stored.external_id) == (
        "sms",
        "sent",
        sent["Sid"],
    )


def test_a_long_reply_is_split_within_twilios_limit_and_every_part_is_tracked(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given an SMS ticket and a 2,500-character answer
    text(edge, "Question", "SM" + "1" * 32)
    pipeline.drain()
    long_text = " ".join(["word"] * 500)
    # When the agent replies
    reply_id = reply(sessions, tickets(sessions)[0].id, long_text)
    pipeline.drain()
    # Then it went as two texts of at most 1,600 characters, in order, losing nothing
    assert [len(s["Body"]) <= 1600 for s in fake.sent] == [True, True]
    assert " ".join(s["Body"] for s in fake.sent) == long_text
    # And both MessageSids are the reply's; a status callback for the second finds it
    assert message(sessions, reply_id).external_id == " ".join(s["Sid"] for s in fake.sent)
    form = params("status_delivered", sid=fake.sent[1]["Sid"])
    assert post_signed(edge, STATUS_PATH, form).status_code == 200
    pipeline.drain()
    assert message(sessions, reply_id).delivery_state == "delivered"


def test_status_callbacks_move_the_delivery_state_forward_and_keep_failures(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given two replies texted to the customer
    text(edge, "Question", "SM" + "1" * 32)
    pipeline.drain()
    number = tickets(sessions)[0].id
    first, second = reply(sessions, number, "One"), reply(sessions, number, "Two")
    pipeline.drain()
    sids = {s["Body"]: s["Sid"] for s in fake.sent}
    sid_one, sid_two = sids["One"], sids["Two"]
    # When Twilio reports the first delivered (then a late "sent"), the second undelivered
    post_signed(edge, STATUS_PATH, params("status_delivered", sid=sid_one))
    late = params("status_delivered", sid=sid_one) | {"MessageStatus": "sent", "SmsStatus": "sent"}
    pipeline.drain()
    post_signed(edge, STATUS_PATH, late)
    post_signed(edge, STATUS_PATH, params("status_undelivered", sid=sid_two))
    pipeline.drain()
    # Then the first is delivered, the second failed with Twilio's error code
    assert message(sessions, first).delivery_state == "delivered"
    failed = message(sessions, second)
    assert (failed.delivery_state, failed.delivery_error) == (
        "failed",
        "undelivered (Twilio error 30003)",
    )
    # And no callback made a ticket or an inbound record
    assert len(tickets(sessions)) == 1
    with sessions() as session:
        assert len(session.execute(select(InboundRecord)).scalars().all()) == 1


def test_stop_opts_the_number_out_keeps_the_text_on_the_ticket_and_refuses_replies(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given an SMS ticket
    text(edge, "My order 1234 never arrived", "SM" + "1" * 32)
    pipeline.drain()
    # When the customer texts STOP
    text(edge, "Stop", "SM" + "2" * 32)
    pipeline.drain()
    # Then no new ticket: the STOP is a note on the ticket, and the number is opted out
    (ticket,) = tickets(sessions)
    with sessions() as session:
        kinds = session.execute(
            select(Message.kind).where(Message.ticket_id == ticket.id).order_by(Message.id)
        ).scalars()
        assert "opt-out" in list(kinds)
        assert suppression_of(session, PHONE) == "opted out by text STOP"
    # And an agent's reply is refused with the reason, and nothing is texted
    refused = reply(sessions, ticket.id, "It ships today.")
    pipeline.drain()
    assert fake.sent == []
    stored = message(sessions, refused)
    assert stored.delivery_state == "failed"
    assert stored.delivery_error == "the customer's phone is suppressed: opted out by text STOP"
    # When they text START, replies go out again
    text(edge, "START", "SM" + "3" * 32)
    pipeline.drain()
    reply(sessions, ticket.id, "Welcome back.")
    pipeline.drain()
    assert [s["Body"] for s in fake.sent] == ["Welcome back."]
    assert len(tickets(sessions)) == 1


def test_stop_without_a_ticket_opens_none_and_still_opts_out(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    text(edge, "UNSUBSCRIBE", "SM" + "2" * 32)
    pipeline.drain()
    assert tickets(sessions) == []
    with sessions() as session:
        record = session.execute(select(InboundRecord)).scalar_one()
        assert record.status == "ignored"
        assert "opted out" in (record.status_reason or "")
        assert suppression_of(session, PHONE) == "opted out by text UNSUBSCRIBE"


def test_twilio_error_21610_marks_the_number_opted_out(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given an SMS ticket, and a customer who opted out with Twilio directly
    text(edge, "Question", "SM" + "1" * 32)
    pipeline.drain()
    fake.fail_next(
        400, body=twilio_error(21610, "Attempt to send to unsubscribed recipient"), method="POST"
    )
    # When an agent replies
    refused = reply(sessions, tickets(sessions)[0].id, "Answer")
    pipeline.drain()
    # Then the reply is refused with Twilio's reason and the number is suppressed
    stored = message(sessions, refused)
    assert stored.delivery_state == "failed"
    assert "21610" in (stored.delivery_error or "")
    with sessions() as session:
        assert "21610" in (suppression_of(session, PHONE) or "")


def test_a_rate_limited_send_is_retried(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given an SMS ticket, and Twilio answering the next send with 429
    text(edge, "Question", "SM" + "1" * 32)
    pipeline.drain()
    fake.fail_next(429, body=twilio_error(20429, "Too Many Requests", 429), method="POST")
    # When an agent replies and the workers run
    sent = reply(sessions, tickets(sessions)[0].id, "Answer")
    pipeline.drain()
    # Then the send was tried twice and went out once
    assert len(fake.calls("POST")) == 2
    assert [s["Body"] for s in fake.sent] == ["Answer"]
    assert message(sessions, sent).delivery_state == "sent"


def test_a_whatsapp_message_and_its_reply_use_whatsapp_addresses(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given a WhatsApp message
    assert post_signed(edge, SMS_PATH, params("whatsapp")).status_code == 200
    pipeline.drain()
    (ticket,) = tickets(sessions)
    assert ticket.channel == "whatsapp"
    # When an agent replies within the 24-hour session
    reply(sessions, ticket.id, "We are on it.")
    pipeline.drain()
    # Then it goes from our WhatsApp sender to the customer's WhatsApp
    (sent,) = fake.sent
    assert (sent["From"], sent["To"]) == ("whatsapp:+14155238886", "whatsapp:" + CUSTOMER)


def test_a_whatsapp_reply_outside_the_24_hour_session_is_refused(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given a WhatsApp message from 25 hours ago
    assert post_signed(edge, SMS_PATH, params("whatsapp")).status_code == 200
    pipeline.drain()
    with unit_of_work(sessions) as session:
        session.execute(
            update(Message)
            .where(Message.direction == "inbound")
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    # When an agent replies
    refused = reply(sessions, tickets(sessions)[0].id, "Sorry for the wait.")
    pipeline.drain()
    # Then nothing is sent, and the reason is on the reply
    assert fake.sent == []
    stored = message(sessions, refused)
    assert stored.delivery_state == "failed"
    assert (stored.delivery_error or "").startswith("outside WhatsApp's 24-hour session")


@pytest.mark.parametrize(("idle_hours", "threads"), [(71, True), (73, False)])
def test_the_sms_window_decides_between_the_old_ticket_and_a_linked_new_one(
    edge: httpx.Client,
    pipeline: Pipeline,
    sessions: sessionmaker[Session],
    idle_hours: int,
    threads: bool,
) -> None:
    # Given an SMS ticket solved and idle for some hours (the window is 72)
    text(edge, "My order 1234 never arrived", "SM" + "1" * 32)
    pipeline.drain()
    with unit_of_work(sessions) as session:
        session.execute(
            update(Ticket).values(
                status="solved", updated_at=utcnow() - timedelta(hours=idle_hours)
            )
        )
    # When the customer texts again
    text(edge, "Thanks, it came!", "SM" + "2" * 32)
    pipeline.drain()
    # Then inside the window it joins the ticket; outside, a new ticket links to it
    found = tickets(sessions)
    if threads:
        assert len(found) == 1
        assert found[0].status == "open"
    else:
        assert len(found) == 2
        assert found[1].linked_ticket_id == found[0].id


def test_media_over_the_attachment_limit_is_refused_with_the_reason(
    configured: Settings, sessions: sessionmaker[Session], edge: httpx.Client, fake: TwilioFake
) -> None:
    # Given a 1 KiB attachment limit and an MMS whose second image is bigger
    small = configured.model_copy(update={"max_attachment_bytes": 1024})
    fake.media["ME" + "0" * 32] = ("image/jpeg", b"j" * 100)
    fake.media["ME" + "1" * 32] = ("image/png", b"p" * 5000)
    pipe = Pipeline(small, sessions)
    try:
        # When it arrives and the workers run
        assert post_signed(edge, SMS_PATH, params("mms", api=fake.url)).status_code == 200
        pipe.drain()
    finally:
        pipe.close()
    # Then the small one is stored and the big one is listed with why it was not
    with sessions() as session:
        attachments = session.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
    assert [(a.filename, a.size, a.refused_reason) for a in attachments] == [
        ("media-0.jpg", 100, None),
        ("media-1.png", 0, "5000 bytes is over the attachment limit of 1024"),
    ]


def test_a_long_reply_that_fails_midway_is_not_texted_twice(
    edge: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: TwilioFake
) -> None:
    # Given an SMS ticket, and Twilio failing the second part of a long reply
    text(edge, "Question", "SM" + "1" * 32)
    pipeline.drain()
    long_text = " ".join(["word"] * 500)
    sent_calls = len(fake.calls("POST"))
    # When the agent replies (the first part goes through, the second meets a 500)
    reply_id = reply(sessions, tickets(sessions)[0].id, long_text)
    fake.fail_create(2, 500, twilio_error(20500, "Internal Server Error", 500))
    pipeline.drain()
    # Then the first part went once, and the reply says what went out and what failed
    assert len(fake.sent) == 1
    stored = message(sessions, reply_id)
    assert stored.delivery_state == "failed"
    assert (stored.delivery_error or "").startswith(f"sent 1 of 2 parts ({fake.sent[0]['Sid']})")
    assert len(fake.calls("POST")) == sent_calls + 2

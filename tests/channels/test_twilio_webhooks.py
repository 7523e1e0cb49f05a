"""Twilio's webhooks over real HTTP: verified, stored once, answered with empty TwiML."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from channels.replies import TWIML_EMPTY
from channels.twilio_webhooks import STATUS
from config.settings import Settings
from ingest.models import InboundRecord, OutboxEntry
from tests.channels.twilio_fake import AUTH_TOKEN
from tests.channels.twilio_support import (
    PUBLIC_URL,
    SMS_PATH,
    STATUS_PATH,
    params,
    post_signed,
    signed,
    twilio_edge,
    twilio_settings,
)


@pytest.fixture
def edge(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[httpx.Client]:
    with twilio_edge(twilio_settings(settings), sessions) as client:
        yield client


def stored(sessions: sessionmaker[Session]) -> list[InboundRecord]:
    with sessions() as session:
        return list(session.execute(select(InboundRecord).order_by(InboundRecord.id)).scalars())


def test_signed_sms_is_stored_with_its_message_sid_and_answered_with_empty_twiml(
    edge: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given an incoming SMS as Twilio signs it
    form = params("sms")
    # When Twilio posts it
    response = post_signed(edge, SMS_PATH, form)
    # Then it is answered with empty TwiML
    assert response.status_code == 200
    assert response.text == TWIML_EMPTY
    assert response.headers["content-type"].startswith("text/xml")
    # And the raw request is stored under its MessageSid, with work for the ingest actor
    (record,) = stored(sessions)
    assert record.channel == "twilio"
    assert record.dedupe_key == f"twilio:{form['MessageSid']}"
    assert record.envelope["rcpt_tos"] == ["+14155550999"]
    with sessions() as session:
        work = session.execute(select(OutboxEntry.actor)).scalars().all()
    assert work == ["ingest"]


def test_a_retried_webhook_is_not_stored_twice(
    edge: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given an SMS Twilio already delivered
    form = params("sms")
    assert post_signed(edge, SMS_PATH, form).status_code == 200
    # When Twilio retries it (a timeout on its side)
    retry = post_signed(edge, SMS_PATH, form)
    # Then the retry is answered the same way and stores nothing new
    assert retry.status_code == 200
    assert len(stored(sessions)) == 1
    with sessions() as session:
        assert session.execute(select(func.count(OutboxEntry.id))).scalar_one() == 1


def test_a_bad_signature_is_refused_and_nothing_is_stored(
    edge: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given a request signed with another token (a forger who knows the AccountSid)
    form = params("sms")
    headers = {
        "X-Twilio-Signature": RequestValidator("not-the-token").compute_signature(
            PUBLIC_URL + SMS_PATH, form
        ),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    # When it is posted
    response = edge.post(SMS_PATH, data=form, headers=headers)
    # Then it is refused and nothing is stored
    assert response.status_code == 403
    assert stored(sessions) == []
    # And /metrics counts the failure
    metrics = edge.get("/metrics").text
    assert 'omniroute_twilio_signature_failures_total{reason="bad-signature"} 1.0' in metrics


def test_a_missing_signature_is_refused(
    edge: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given an unsigned request
    response = edge.post(SMS_PATH, data=params("sms"))
    # Then it is refused and nothing is stored
    assert response.status_code == 403
    assert stored(sessions) == []
    assert 'reason="missing-signature"} 1.0' in edge.get("/metrics").text


def test_a_tampered_body_is_refused(edge: httpx.Client, sessions: sessionmaker[Session]) -> None:
    # Given a signed SMS whose text was changed on the way
    form = params("sms")
    headers = signed(PUBLIC_URL + SMS_PATH, form)
    form["Body"] = "Send the refund to account 999"
    # When it is posted
    response = edge.post(SMS_PATH, data=form, headers=headers)
    # Then it is refused
    assert response.status_code == 403
    assert stored(sessions) == []


def test_an_unknown_account_is_refused(edge: httpx.Client, sessions: sessionmaker[Session]) -> None:
    # Given a correctly signed request from an account we do not have
    form = params("sms") | {"AccountSid": "AC" + "f" * 32}
    # When it is posted
    response = post_signed(edge, SMS_PATH, form)
    # Then it is refused
    assert response.status_code == 403
    assert 'reason="unknown-account"} 1.0' in edge.get("/metrics").text


def test_a_messaging_service_pool_number_verifies(
    edge: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given an SMS to a pool number of our Messaging Service, a number not listed in settings
    form = params("messaging_service")
    # When Twilio posts it, signed with the account's token
    response = post_signed(edge, SMS_PATH, form)
    # Then it verifies and is stored
    assert response.status_code == 200
    (record,) = stored(sessions)
    assert record.dedupe_key == f"twilio:{form['MessageSid']}"


def test_the_signed_url_is_rebuilt_from_a_trusted_proxys_forwarded_headers(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given omniroute behind a proxy on loopback, without a public URL setting
    configured = twilio_settings(settings, public_url=None, trusted_proxies=("127.0.0.0/8",))
    form = params("sms")
    with twilio_edge(configured, sessions) as client:
        # When Twilio's request arrives through the proxy, which rewrote the URL
        response = post_signed(
            client,
            SMS_PATH,
            form,
            base="https://sms.example.org",
            **{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.org"},
        )
    # Then the URL Twilio signed is rebuilt and the request verifies
    assert response.status_code == 200
    assert len(stored(sessions)) == 1


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given no trusted proxies and no public URL
    configured = twilio_settings(settings, public_url=None)
    form = params("sms")
    with twilio_edge(configured, sessions) as client:
        # When a request claims forwarded headers matching its signature
        response = post_signed(
            client,
            SMS_PATH,
            form,
            base="https://sms.example.org",
            **{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.org"},
        )
    # Then they are not believed and the request is refused
    assert response.status_code == 403
    assert stored(sessions) == []


def test_report_only_mode_accepts_a_bad_signature_and_counts_it(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given report-only mode (a first deployment)
    configured = twilio_settings(settings, twilio_signature_mode="report")
    with twilio_edge(configured, sessions) as client:
        # When a request arrives with a signature for another URL
        form = params("sms")
        headers = signed("https://elsewhere.example.com" + SMS_PATH, form)
        response = client.post(SMS_PATH, data=form, headers=headers)
        metrics = client.get("/metrics").text
    # Then it is accepted, stored, and counted as a failure
    assert response.status_code == 200
    assert len(stored(sessions)) == 1
    assert 'reason="bad-signature"} 1.0' in metrics


def test_a_json_body_verifies_by_its_body_sha256(
    edge: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given a JSON webhook: the body's SHA-256 is in the signed URL
    body = json.dumps(params("sms"))
    digest = hashlib.sha256(body.encode()).hexdigest()
    path = f"{SMS_PATH}?bodySHA256={digest}"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, {})
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/json"}
    # When it is posted
    response = edge.post(path, content=body, headers=headers)
    # Then it verifies and is stored with its content type
    assert response.status_code == 200
    (record,) = stored(sessions)
    assert record.envelope["content_type"] == "json"
    # And a JSON body changed after signing is refused
    tampered = body.replace("never arrived", "arrived")
    assert edge.post(path, content=tampered, headers=headers).status_code == 403


def test_a_status_callback_is_committed_as_work_and_creates_no_inbound_record(
    edge: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given a signed status callback for a message we sent
    form = params("status_delivered", sid="SM" + "a" * 32)
    # When Twilio posts it
    response = post_signed(edge, STATUS_PATH, form)
    # Then it is answered, no inbound record exists, and the status awaits a worker
    assert response.status_code == 200
    assert stored(sessions) == []
    with sessions() as session:
        (work,) = session.execute(select(OutboxEntry)).scalars()
    assert work.actor == STATUS
    assert (work.payload["sid"], work.payload["status"]) == ("SM" + "a" * 32, "delivered")


def test_a_status_callback_with_a_bad_signature_is_refused(
    edge: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    form = params("status_delivered", sid="SM" + "a" * 32)
    response = edge.post(STATUS_PATH, data=form, headers={"X-Twilio-Signature": "bm9wZQ=="})
    assert response.status_code == 403
    with sessions() as session:
        assert session.execute(select(func.count(OutboxEntry.id))).scalar_one() == 0


def test_without_twilio_settings_the_webhooks_are_not_served(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with twilio_edge(settings, sessions) as client:
        assert post_signed(client, SMS_PATH, params("sms")).status_code == 404


def test_the_openapi_description_lists_the_webhooks_when_they_are_served(
    edge: httpx.Client,
) -> None:
    document = edge.get("/openapi.json").json()
    validate(document)
    assert set(document["paths"]["/webhooks/twilio/sms"]) == {"post"}
    assert set(document["paths"]["/webhooks/twilio/status"]) == {"post"}

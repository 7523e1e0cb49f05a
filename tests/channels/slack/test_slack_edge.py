"""``POST /slack/events`` over real HTTP: verified, stored once with its dedupe key, acked."""

from __future__ import annotations

import json
import time

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.replies import SLACK_RETRY_AFTER_SECONDS
from channels.slack_http import slack_routes
from channels.web import create_app
from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from ingest.models import InboundRecord, OutboxEntry
from tests.channels.slack.support import event, post_event, sign
from tests.servers import http_server


def records(sessions: sessionmaker[Session]) -> list[InboundRecord]:
    with sessions() as session:
        return list(session.execute(select(InboundRecord).order_by(InboundRecord.id)).scalars())


def test_url_verification_is_answered_with_the_challenge(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given Slack's url_verification request, signed
    body = event("url_verification")
    # When it is posted
    response = post_event(http, body)
    # Then the challenge comes back and nothing is stored
    assert response.status_code == 200
    assert body["challenge"] in response.text
    assert records(sessions) == []


def test_a_signed_event_is_stored_raw_with_its_work_before_the_ack(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given a DM to the app
    body = event("message.im")
    # When Slack posts it
    response = post_event(http, body)
    # Then it is acknowledged, and the raw body is stored under the message's key
    assert response.status_code == 200
    (record,) = records(sessions)
    assert record.channel == "slack"
    assert record.dedupe_key == "slack:T0OURS:D0ALICE:1700000000.000100"
    assert json.loads(record.raw) == body
    with sessions() as session:
        work = session.execute(select(OutboxEntry.payload)).scalars().all()
    assert work == [{"inbound_id": record.id}]


def test_slack_retries_are_acknowledged_and_stored_once(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given an event Slack already delivered
    body = event("message.im")
    assert post_event(http, body).status_code == 200
    # When Slack retries it twice (its 3 s timeout fired)
    first = post_event(http, body, retry=1)
    second = post_event(http, body, retry=2)
    # Then both retries are acknowledged and the event is stored once
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(records(sessions)) == 1


def test_a_mention_and_its_message_event_are_one_message(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given the two events Slack sends for one @mention (app_mention and message)
    post_event(http, event("app_mention"))
    post_event(http, event("message.mention"))
    # Then one record holds the message
    assert [r.dedupe_key for r in records(sessions)] == ["slack:T0OURS:C0GENERAL:1700000400.000500"]


def test_edits_are_keyed_by_their_event_id(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given an edit of a message
    post_event(http, event("message_changed"))
    # Then it is stored under its event id, apart from the message it edits
    assert [r.dedupe_key for r in records(sessions)] == ["slack:event:Ev0ED000001"]


def test_a_bad_signature_is_refused_and_nothing_is_stored(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given an event signed with the wrong secret
    response = post_event(http, event("message.im"), secret="not-the-secret")
    # Then it is refused with 401 and nothing is stored
    assert response.status_code == 401
    assert records(sessions) == []


def test_a_missing_signature_is_refused(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given an event without Slack's headers
    response = http.post("/slack/events", content=json.dumps(event("message.im")).encode())
    # Then it is refused and nothing is stored
    assert response.status_code == 401
    assert records(sessions) == []


def test_a_stale_signature_is_refused(http: httpx.Client, sessions: sessionmaker[Session]) -> None:
    # Given an event signed correctly ten minutes ago (a replay)
    response = post_event(http, event("message.im"), timestamp=int(time.time()) - 600)
    # Then it is refused and nothing is stored
    assert response.status_code == 401
    assert records(sessions) == []


def test_a_tampered_body_is_refused(http: httpx.Client, sessions: sessionmaker[Session]) -> None:
    # Given a signature over one body and another body sent
    raw = json.dumps(event("message.im")).encode()
    headers = sign(raw)
    tampered = raw.replace(b"log in", b"pay in")
    # When it is posted
    response = http.post("/slack/events", content=tampered, headers=headers)
    # Then it is refused
    assert response.status_code == 401
    assert records(sessions) == []


def test_an_event_is_503_with_retry_after_when_the_store_is_down(slack: Settings) -> None:
    # Given the Slack edge on a store that does not answer
    down = create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    sessions = session_factory(down)
    app = create_app(sessions, extra_routes=slack_routes(slack, sessions))
    with http_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        # When Slack posts an event
        response = post_event(client, event("message.im"))
    down.dispose()
    # Then Slack is told to retry, not "ok"
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(SLACK_RETRY_AFTER_SECONDS)


def test_without_a_signing_secret_there_is_no_events_route(
    slack: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given a bot token but no signing secret
    unsigned = slack.model_copy(update={"slack_signing_secret": None})
    # Then nothing is served at /slack/events (an unsigned endpoint would take forgeries)
    assert slack_routes(unsigned, sessions) == []

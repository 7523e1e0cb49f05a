"""Socket Mode: events over a WebSocket are stored, then acked; retries stored once;
a ``disconnect`` is followed by a new connection that keeps taking events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from slack_bolt import BoltRequest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.slack_events import build_bolt_app
from channels.slack_socket import socket_mode_handler
from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from ingest.models import InboundRecord
from tests.channels.slack.api_fake import APP_TOKEN, SlackApiFake
from tests.channels.slack.socket_server import SocketModeServer
from tests.channels.slack.support import event


@pytest.fixture
def server(fake: SlackApiFake) -> Iterator[SocketModeServer]:
    with SocketModeServer() as running:
        fake.state.socket_url = running.url
        yield running


@pytest.fixture
def connected(
    slack: Settings, sessions: sessionmaker[Session], server: SocketModeServer
) -> Iterator[SocketModeServer]:
    socket_settings = slack.model_copy(
        update={"slack_app_token": SecretStr(APP_TOKEN), "slack_signing_secret": None}
    )
    handler = socket_mode_handler(socket_settings, sessions)
    handler.connect()
    try:
        server.wait_for_connections(1)
        yield server
    finally:
        handler.close()


def dedupe_keys(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(
            session.execute(select(InboundRecord.dedupe_key).order_by(InboundRecord.id)).scalars()
        )


def test_an_event_envelope_is_stored_then_acked(
    connected: SocketModeServer, sessions: sessionmaker[Session]
) -> None:
    # When Slack sends a DM event over the socket
    connected.send_event("env-1", event("message.im"))
    # Then the app acks the envelope, and the event was stored before
    connected.wait_for_ack("env-1")
    assert dedupe_keys(sessions) == ["slack:T0OURS:D0ALICE:1700000000.000100"]


def test_a_redelivered_envelope_is_acked_and_stored_once(
    connected: SocketModeServer, sessions: sessionmaker[Session]
) -> None:
    # Given an event delivered, then delivered again as a retry
    connected.send_event("env-1", event("message.im"))
    connected.wait_for_ack("env-1")
    connected.send_event("env-2", event("message.im"), retry_attempt=1)
    # Then the retry is acked too, and the event is stored once
    connected.wait_for_ack("env-2")
    assert len(dedupe_keys(sessions)) == 1


def test_after_a_disconnect_the_app_reconnects_and_keeps_taking_events(
    connected: SocketModeServer, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    # When Slack asks for a refresh
    connected.disconnect()
    # Then the app opens a new connection (asking for a new URL)
    connected.wait_for_connections(2)
    assert len(fake.calls("POST", "/api/apps.connections.open")) >= 2
    # And events on the new connection are stored and acked
    connected.send_event("env-3", event("message.channel"))
    connected.wait_for_ack("env-3")
    assert dedupe_keys(sessions) == ["slack:T0OURS:C0SUPPORT:1700000100.000200"]


def test_with_the_store_down_a_socket_mode_event_is_not_acked(slack: Settings) -> None:
    # Given the bolt app of Socket Mode on a store that does not answer
    down = create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    unsigned = slack.model_copy(update={"slack_signing_secret": None})
    app = build_bolt_app(unsigned, session_factory(down))
    # When an envelope's payload is dispatched as the Socket Mode handler does
    response = app.dispatch(BoltRequest(mode="socket_mode", body=event("message.im")))
    down.dispose()
    # Then the answer is not 200, so bolt sends no ack and Slack delivers it again
    assert response.status == 503

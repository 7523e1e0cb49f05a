"""Real processes: the Procfile's ``slack`` role (Socket Mode) and ``omniroute run``
serving ``POST /slack/events``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import InboundRecord
from tests.channels.slack.api_fake import APP_TOKEN, BOT_TOKEN, SlackApiFake
from tests.channels.slack.socket_server import SocketModeServer
from tests.channels.slack.support import SIGNING_SECRET, event, post_event
from tests.integration.support import OMNIROUTE, Processes, clean_env, free_port, wait_until

pytestmark = pytest.mark.integration


def test_the_slack_role_takes_socket_mode_events_in(
    fake: SlackApiFake, sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    processes = Processes(tmp_path / "logs")
    with SocketModeServer() as server:
        fake.state.socket_url = server.url
        env = clean_env(
            OMNIROUTE_DATABASE_URL=database_url,
            OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
            OMNIROUTE_SLACK_BOT_TOKEN=BOT_TOKEN,
            OMNIROUTE_SLACK_APP_TOKEN=APP_TOKEN,
            OMNIROUTE_SLACK_API_URL=fake.base_url,
        )
        # Given `omniroute slack` running
        processes.start("slack", [str(OMNIROUTE), "slack"], env, tmp_path)
        try:
            server.wait_for_connections(1)
            # When Slack sends a DM event over the socket
            server.send_event("env-1", event("message.im"))
            # Then it is acked after it was stored
            server.wait_for_ack("env-1")
            with sessions() as session:
                keys = session.execute(select(InboundRecord.dedupe_key)).scalars().all()
            assert keys == ["slack:T0OURS:D0ALICE:1700000000.000100"], processes.output()
        finally:
            processes.stop_all()


def test_the_slack_role_needs_an_app_token(database_url: str, tmp_path: Path) -> None:
    env = clean_env(OMNIROUTE_DATABASE_URL=database_url, OMNIROUTE_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [str(OMNIROUTE), "slack"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "OMNIROUTE_SLACK_APP_TOKEN" in result.stderr


def test_omniroute_run_serves_slack_events_and_answers_in_the_thread(
    fake: SlackApiFake, sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    processes = Processes(tmp_path / "logs")
    port = free_port()
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_HTTP_PORT=str(port),
        OMNIROUTE_SMTP_PORT=str(free_port()),
        OMNIROUTE_SLACK_BOT_TOKEN=BOT_TOKEN,
        OMNIROUTE_SLACK_SIGNING_SECRET=SIGNING_SECRET,
        OMNIROUTE_SLACK_API_URL=fake.base_url,
        OMNIROUTE_OUTBOX_POLL_SECONDS="0.1",
    )
    # Given `omniroute run` with a bot token and a signing secret
    processes.start("run", [str(OMNIROUTE), "run"], env, tmp_path)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            wait_until(lambda: _up(http), "omniroute run to serve HTTP", context=processes.output)
            # When Slack posts a customer's DM
            response = post_event(http, event("message.im"))
            assert response.status_code == 200, processes.output()
            # Then the acknowledgement is posted in the DM's thread
            wait_until(lambda: len(fake.posts()) == 1, "acknowledgement", context=processes.output)
        (post,) = fake.posts()
        assert (post["channel"], post["thread_ts"]) == ("D0ALICE", "1700000000.000100")
        assert "Ticket #" in post["text"]
    finally:
        processes.stop_all()


def _up(http: httpx.Client) -> bool:
    try:
        return http.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False

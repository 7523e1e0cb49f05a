"""The Procfile's ``slack`` role as a real process: Socket Mode events stored, then acked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import InboundRecord
from tests.channels.slack.api_fake import APP_TOKEN, BOT_TOKEN, SlackApiFake
from tests.channels.slack.socket_server import SocketModeServer
from tests.channels.slack.support import event
from tests.integration.support import OMNIROUTE, Processes, clean_env

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

"""Slack fixtures: the fake Web API, settings pointing at it, the app over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.slack_http import slack_routes
from channels.web import create_app
from config.settings import Settings
from tests.channels.slack.api_fake import SlackApiFake
from tests.channels.slack.support import slack_settings
from tests.harness import Pipeline
from tests.servers import http_server


@pytest.fixture
def fake() -> Iterator[SlackApiFake]:
    with SlackApiFake() as api:
        yield api


@pytest.fixture
def slack(settings: Settings, fake: SlackApiFake) -> Settings:
    return slack_settings(settings, fake)


@pytest.fixture
def http(slack: Settings, sessions: sessionmaker[Session]) -> Iterator[httpx.Client]:
    app = create_app(sessions, extra_routes=slack_routes(slack, sessions))
    with http_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


@pytest.fixture
def pipeline(slack: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    pipe = Pipeline(slack, sessions)
    yield pipe
    pipe.close()

"""Signed Twilio webhook requests for tests, built with the ``twilio`` library's own signing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from channels.web import create_app
from config.settings import Settings
from tests.channels.twilio_fake import ACCOUNT_SID, AUTH_TOKEN
from tests.conftest import FIXTURES
from tests.servers import http_server

PUBLIC_URL = "https://support.example.com"
OUR_NUMBER = "+14155550999"
CUSTOMER = "+14155550123"
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"


def twilio_settings(
    settings: Settings, api_url: str = "http://127.0.0.1:9", **more: Any
) -> Settings:
    values: dict[str, Any] = {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_numbers": (
            OUR_NUMBER,
            "whatsapp:+14155238886",
            "MG00112233445566778899aabbccddeeff",
        ),
        "twilio_api_url": api_url,
        "public_url": PUBLIC_URL,
        **more,
    }
    return Settings(**{**settings.model_dump(), **values})


def params(name: str, api: str = "", **fill: str) -> dict[str, str]:
    """A fixture's parameters with ``{account_sid}``, ``{api}`` and ``{sid}`` filled in."""
    text = FIXTURES.joinpath("twilio", f"{name}.json").read_text()
    text = text.replace("{account_sid}", ACCOUNT_SID).replace("{api}", api)
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    loaded: dict[str, str] = json.loads(text)
    return loaded


def signed(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    """The headers Twilio sends with ``form`` posted to ``url``."""
    return {
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, form),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def post_signed(
    client: httpx.Client, path: str, form: dict[str, str], *, base: str = PUBLIC_URL, **extra: str
) -> httpx.Response:
    headers = {**signed(base + path, form), **extra}
    return client.post(path, content=urlencode(form), headers=headers)


@contextmanager
def twilio_edge(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[httpx.Client]:
    """omniroute's ASGI app with Twilio configured, over real HTTP on loopback."""
    with (
        http_server(create_app(sessions, settings=settings)) as url,
        httpx.Client(base_url=url) as client,
    ):
        yield client

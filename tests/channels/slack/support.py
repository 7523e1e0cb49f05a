"""Slack test support: fixture events, Slack's v0 request signature, settings for the fake."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from pydantic import SecretStr

from config.settings import Settings
from tests.channels.slack.api_fake import APP_TOKEN, BOT_TOKEN, SlackApiFake
from tests.conftest import FIXTURES

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def event(name: str, **changes: Any) -> dict[str, Any]:
    """The fixture ``tests/fixtures/slack/<name>.json``; ``changes`` update its ``event``
    (``event_id`` and ``team_id`` update the wrapper)."""
    body: dict[str, Any] = json.loads((FIXTURES / "slack" / f"{name}.json").read_text())
    body = copy.deepcopy(body)
    for key, value in changes.items():
        if key in {"event_id", "team_id"}:
            body[key] = value
        else:
            body["event"][key] = value
    return body


def sign(raw: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's headers for ``raw``: ``v0=`` HMAC-SHA256 of ``v0:timestamp:body``
    (https://api.slack.com/authentication/verifying-requests-from-slack)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + raw
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json",
    }


def post_event(
    http: httpx.Client, body: dict[str, Any], *, retry: int | None = None, **sign_args: Any
) -> httpx.Response:
    """POST ``body`` to ``/slack/events`` as Slack does, signed (and marked as a retry)."""
    raw = json.dumps(body).encode()
    headers = sign(raw, **sign_args)
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return http.post("/slack/events", content=raw, headers=headers)


def slack_settings(settings: Settings, fake: SlackApiFake, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": SecretStr(BOT_TOKEN),
        "slack_signing_secret": SecretStr(SIGNING_SECRET),
        "slack_app_token": None,
        "slack_api_url": fake.base_url,
        "slack_support_channels": ("C0SUPPORT", "C0SHARED"),
        "acknowledge_channels": ("email", "slack"),
    }
    values.update(overrides)
    return settings.model_copy(update=values)


__all__ = ["APP_TOKEN", "BOT_TOKEN", "event", "post_event", "sign", "slack_settings"]

"""The Slack edge: a ``slack-bolt`` app that stores each event, then acknowledges it.

Both of Slack's modes go through the same bolt app: HTTP (``POST /slack/events``,
:mod:`channels.slack_http`) and Socket Mode (:mod:`channels.slack_socket`). Bolt
verifies the signature (HTTP: bad, missing or stale ``X-Slack-Signature`` → 401,
nothing stored) and answers ``url_verification``; our one global middleware then
commits the raw ``event_callback`` with its dedupe key and acknowledges. Slack's
retries (``X-Slack-Retry-Num``) carry the same key and are reported as duplicates,
never dropped unread. When the store cannot commit the answer is 503, so Slack
(HTTP) retries, or no ack is sent (Socket Mode) and Slack redelivers.

The edge makes no Slack API call: bolt's own authorization would call ``auth.test``
on the first request and, should that fail, acknowledge the event with a 200
without storing it. Our ``authorize`` only hands bolt the configured token; who
our bot is and what the event means are settled by the ingest worker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from channels.batch_writer import AcceptFailed, WriterBusy
from channels.edge_metrics import refused
from channels.replies import (
    SLACK_INTERNAL_ERROR,
    SLACK_NO_EVENT_KEY,
    SLACK_RETRY_AFTER_SECONDS,
    SLACK_STORE_DOWN,
)
from config.settings import Settings
from ingest.accept import Accepted, accept_batch
from ingest.errors import StoreUnavailable
from ingest.raw_inputs import RawInput, RawSpill
from normalize.slack import CHANNEL, message_key

log = logging.getLogger(__name__)

# Events that are one message (``message``, ``app_mention``) are keyed by the message,
# so the two events Slack sends for one @mention store it once.
_MESSAGE_EVENTS = frozenset({"message", "app_mention"})


def dedupe_key(body: dict[str, Any]) -> str | None:
    """The event's key: the message's ``team:channel:ts`` for a new message, else its
    ``event_id``; None when the body is not an event callback we can key."""
    event = body.get("event")
    if not isinstance(event, dict):
        return None
    team = body.get("team_id") or ""
    subtype = event.get("subtype")
    revision = isinstance(subtype, str) and subtype.startswith("message_")
    if event.get("type") in _MESSAGE_EVENTS and not revision:
        channel, ts = event.get("channel"), event.get("ts")
        if isinstance(channel, str) and isinstance(ts, str):
            return message_key(team, channel, ts)
    event_id = body.get("event_id")
    return f"slack:event:{event_id}" if isinstance(event_id, str) and event_id else None


def build_bolt_app(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    on_accepted: Callable[[], None] | None = None,
    accept: Callable[[RawInput], Accepted] | None = None,
) -> App:
    """The bolt app of this process; ``on_accepted`` is called after a new event is stored.
    ``accept`` commits one event (default: its own transaction; the HTTP edge passes a
    group-committing writer's)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = settings.slack_signing_secret
    client = WebClient(base_url=settings.slack_api_url)

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=token)

    app = App(
        client=client,
        authorize=authorize,
        signing_secret=secret.get_secret_value() if secret is not None else None,
        # Socket Mode requests are not signed (the WebSocket is authenticated instead).
        request_verification_enabled=secret is not None,
        ignoring_self_events_enabled=False,
        ssl_check_enabled=True,
        url_verification_enabled=True,
    )

    def commit_alone(item: RawInput) -> Accepted:
        return accept_batch(sessions, [item], RawSpill.for_settings(settings))[0]

    commit = accept or commit_alone

    def store(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
        body = req.body
        if body.get("type") != "event_callback":
            return next()
        key = dedupe_key(body)
        if key is None:
            log.warning("slack event without an event id or message: not stored")
            refused(CHANNEL, "no event id")
            return BoltResponse(status=400, body=SLACK_NO_EVENT_KEY)
        raw = req.raw_body.encode() if req.raw_body else json.dumps(body).encode()
        envelope = {"mode": req.mode, "retry_num": _header(req, "x-slack-retry-num")}
        try:
            accepted = commit(RawInput(CHANNEL, key, raw, envelope))
        except AcceptFailed:
            # A bug, logged with its traceback by the writer: Slack retries the event later.
            return BoltResponse(status=500, body=SLACK_INTERNAL_ERROR)
        except (StoreUnavailable, WriterBusy) as exc:
            log.warning("slack event %s not stored: %s", key, exc)
            return BoltResponse(
                status=503,
                body=SLACK_STORE_DOWN,
                headers={"Retry-After": str(SLACK_RETRY_AFTER_SECONDS)},
            )
        if not accepted.duplicate and on_accepted is not None:
            on_accepted()
        return BoltResponse(status=200, body="")

    app.use(store)
    return app


def _header(req: BoltRequest, name: str) -> str | None:
    values = req.headers.get(name)
    return values[0] if values else None

"""The ``slack`` role: Slack's Socket Mode, for a deployment with no public URL.

slack_sdk's built-in Socket Mode client (no dependency beyond the standard library)
opens the WebSocket with the app-level token (``apps.connections.open``), and bolt's
handler runs each ``events_api`` envelope through the same app as HTTP mode
(:mod:`channels.slack_events`): the event is stored, then the envelope is acked.
When the store cannot commit no ack is sent, so Slack delivers the envelope again.
The client reconnects by itself after a ``disconnect`` message or a dropped socket.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt.adapter.socket_mode.builtin import SocketModeHandler
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from channels.slack_events import build_bolt_app
from config.errors import ConfigError
from config.settings import Settings


def socket_mode_handler(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    on_accepted: Callable[[], None] | None = None,
    ping_interval: float = 10,
) -> SlackSocketMode:
    """The connection, ready to ``connect()``; needs the app-level token (``xapp-``)."""
    if settings.slack_app_token is None:
        raise ConfigError("Socket Mode needs OMNIROUTE_SLACK_APP_TOKEN (an xapp- token)")
    app = build_bolt_app(
        settings.model_copy(update={"slack_signing_secret": None}),
        sessions,
        on_accepted=on_accepted,
    )
    handler = SocketModeHandler(
        app,
        app_token=settings.slack_app_token.get_secret_value(),
        web_client=WebClient(base_url=settings.slack_api_url),
        ping_interval=ping_interval,
    )
    return SlackSocketMode(handler)


class SlackSocketMode:
    """Bolt's Socket Mode handler, connected in the background (the client's own threads)."""

    def __init__(self, handler: SocketModeHandler) -> None:
        self.handler = handler

    def connect(self) -> None:
        self.handler.connect()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self.handler.close()  # type: ignore[no-untyped-call]

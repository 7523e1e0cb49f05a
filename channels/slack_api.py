"""The Slack Web API as omniroute uses it: one ``WebClient`` per settings, and Slack's
errors sorted by fault.

``OMNIROUTE_SLACK_API_URL`` points the client somewhere else than Slack (a staging
proxy, the tests' local fake); the bot token authenticates every call.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from config.settings import Settings

TIMEOUT_SECONDS = 10

# Errors that may clear up by themselves (https://api.slack.com/web#errors).
_TRANSIENT = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable"}
)


def web_client(settings: Settings) -> WebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(token=token, base_url=settings.slack_api_url, timeout=TIMEOUT_SECONDS)


def error_code(exc: SlackApiError) -> str:
    """Slack's error string (``not_in_channel``), or the HTTP status when there is none."""
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or f"http_{exc.response.status_code}")


def is_transient(exc: SlackApiError) -> bool:
    """A rate limit, a server error or one of Slack's own transient errors."""
    status = exc.response.status_code
    return status == 429 or status >= 500 or error_code(exc) in _TRANSIENT


def retry_after(exc: SlackApiError) -> float | None:
    """The seconds of the ``Retry-After`` Slack sent with a rate limit, if any."""
    headers = exc.response.headers or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value))
            except ValueError:
                return None
    return None

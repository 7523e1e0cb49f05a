"""The Slack destination: a Block Kit post per ticket, follow-ups threaded under it.

Through slack_sdk's ``WebClient`` (``base_url`` configurable, its own retries off: the
delivery's backoff decides). ``ticket.created`` posts the ticket to the channel with
``chat.postMessage``; ``message.appended`` replies in the thread of that post
(``thread_ts`` is the created delivery's external id, the post's ``ts``);
``ticket.escalated`` is a notification, threaded and broadcast to the channel when
the ticket was posted there, a post of its own otherwise.

Every post carries message metadata (``event_type`` ``omniroute_handoff``, our
delivery key in ``event_payload``). Once an attempt was started, the next one looks
for that key first (``conversations.history`` or ``conversations.replies`` with
``include_all_metadata``), so a repeated delivery never posts twice; the bot needs the
``chat:write`` and ``channels:history`` (or ``groups:history``) scopes.
``ratelimited`` (HTTP 429) honours ``Retry-After``; Slack's transient errors are
retried; anything else (``invalid_auth``, ``channel_not_found``...) is rejected.
"""

from __future__ import annotations

import http.client
import time
from typing import TYPE_CHECKING, Any

from config.destinations import SlackDestination
from workers.delivery.desks.base import (
    AttemptResult,
    Outcome,
    read_secret,
    result,
    retry_after_seconds,
    truncate,
)
from workers.delivery.desks.handoff import DeskContext, Handoff
from workers.delivery.planning import ESCALATED, MESSAGE_APPENDED, TICKET_CREATED

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

EVENTS = frozenset({TICKET_CREATED, MESSAGE_APPENDED, ESCALATED})
EVENT_TYPE = "omniroute_handoff"
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
HEADER_CHARS = 150  # Block Kit limits
SECTION_CHARS = 3000
# A post made by an interrupted attempt is at most this much older than its delivery.
LOOKBACK_SECONDS = 60
LOOKUP_PAGES = 10
PRIORITY_MARKS = {"critical": ":red_circle:", "high": ":large_orange_circle:"}


def send(context: DeskContext, destination: SlackDestination, handoff: Handoff) -> AttemptResult:
    """One attempt of ``handoff`` to the Slack channel of ``destination``."""
    # Loaded with the first Slack hand-off, not by every worker that has none.
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackRequestError

    token = read_secret(destination.token_env)
    if isinstance(token, AttemptResult):
        return token
    client = WebClient(
        token=token,
        base_url=str(destination.base_url),
        timeout=max(1, round(destination.timeout_seconds)),
        retry_handlers=[],
    )
    started = time.monotonic()
    try:
        return _post(client, destination, handoff, started)
    except SlackApiError as exc:
        return _api_error(exc, now=context.now(), started=started)
    except SlackRequestError as exc:
        return result(Outcome.REJECTED, error=f"Slack request: {exc}", started=started)
    except (OSError, http.client.HTTPException) as exc:
        error = truncate(f"Slack unreachable: {type(exc).__name__}: {exc}")
        return result(Outcome.RETRY, error=error, started=started)


def _post(
    client: WebClient, destination: SlackDestination, handoff: Handoff, started: float
) -> AttemptResult:
    channel = destination.channel
    thread_ts = handoff.parent_external_id if handoff.event != TICKET_CREATED else None
    if handoff.event == MESSAGE_APPENDED and not thread_ts:
        return result(Outcome.REJECTED, error="no Slack thread to follow up in")
    if handoff.seen_before:
        found = _already_posted(client, channel, thread_ts, handoff)
        if found is not None:
            return _delivered(handoff, found, started)
    text, blocks = compose(handoff)
    extra: dict[str, Any] = {}
    if thread_ts:
        extra["thread_ts"] = thread_ts
        extra["reply_broadcast"] = handoff.event == ESCALATED
    response = client.chat_postMessage(
        channel=channel,
        text=text,
        blocks=blocks,
        unfurl_links=False,
        unfurl_media=False,
        metadata={
            "event_type": EVENT_TYPE,
            "event_payload": {"key": handoff.idempotency_key, "ticket": handoff.ticket_number},
        },
        **extra,
    )
    ts = response.get("ts")
    if not isinstance(ts, str) or not ts:
        return result(Outcome.RETRY, error="Slack answered without a ts", started=started)
    return _delivered(handoff, ts, started)


def _delivered(handoff: Handoff, ts: str, started: float) -> AttemptResult:
    """The post's ts for a ticket's own post; the thread's ts for what is threaded under it."""
    external = ts if handoff.event == TICKET_CREATED else handoff.parent_external_id or ts
    return result(Outcome.DELIVERED, status=200, external_id=external, started=started)


def _already_posted(
    client: WebClient, channel: str, thread_ts: str | None, handoff: Handoff
) -> str | None:
    """The ts of the post an earlier attempt made, if it made one (a few pages back)."""
    cursor: str | None = None
    for _ in range(LOOKUP_PAGES):
        page_args: dict[str, Any] = {"include_all_metadata": True, "limit": 200}
        if cursor:
            page_args["cursor"] = cursor
        if thread_ts:
            page = client.conversations_replies(channel=channel, ts=thread_ts, **page_args)
        else:
            oldest = handoff.planned_at.timestamp() - LOOKBACK_SECONDS
            page = client.conversations_history(
                channel=channel, oldest=f"{oldest:.6f}", **page_args
            )
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == EVENT_TYPE
                and payload.get("key") == handoff.idempotency_key
            ):
                ts = message.get("ts")
                return ts if isinstance(ts, str) else None
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


def compose(handoff: Handoff) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the Block Kit blocks of the post (pure)."""
    number = handoff.ticket_number
    if handoff.event == TICKET_CREATED:
        return f"Ticket #{number}: {handoff.subject}", _ticket_blocks(handoff)
    if handoff.event == ESCALATED:
        text = f"Ticket #{number} escalated: {handoff.body_text}"
        headline = f":rotating_light: *Ticket #{number} escalated*: {escape(handoff.subject)}"
        blocks = [
            _section(f"{headline}\n{escape(handoff.body_text)}"),
            {"type": "section", "fields": _fields(handoff)},
        ]
        return text, blocks
    who = escape(handoff.message_from or handoff.customer_label)
    text = f"Ticket #{number}: {handoff.message_from} wrote: {handoff.body_text}"
    blocks = [_section(f"*{who}* wrote:\n{escape(handoff.body_text.strip()) or '_(no text)_'}")]
    files = _files(handoff)
    if files:
        blocks.append(_context(files))
    return truncate(text, SECTION_CHARS), blocks


def _ticket_blocks(handoff: Handoff) -> list[dict[str, Any]]:
    mark = PRIORITY_MARKS.get(handoff.priority or "", "")
    header = f"Ticket #{handoff.ticket_number}: {handoff.subject.strip() or '(no subject)'}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(header, HEADER_CHARS), "emoji": False},
        },
        {"type": "section", "fields": _fields(handoff)},
        _section(escape(handoff.body_text.strip()) or "_(no text)_"),
    ]
    notes = [f"{mark} {handoff.priority}".strip()] if mark else []
    notes.append(f"received {handoff.received_at:%Y-%m-%d %H:%M} UTC")
    notes.extend(_files(handoff))
    blocks.append(_context(notes))
    return blocks


def _fields(handoff: Handoff) -> list[dict[str, str]]:
    pairs = (
        ("Priority", handoff.priority),
        ("Category", handoff.category),
        ("Team", handoff.team),
        ("Customer", handoff.customer_label),
    )
    return [
        {"type": "mrkdwn", "text": f"*{name}*\n{escape(value or '-')}"} for name, value in pairs
    ]


def _files(handoff: Handoff) -> list[str]:
    return [f":paperclip: {escape(a.filename)} ({a.size} bytes)" for a in handoff.attachments]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_CHARS)}}


def _context(texts: list[str]) -> dict[str, Any]:
    elements = [{"type": "mrkdwn", "text": _clip(t, 300)} for t in texts[:10]]
    return {"type": "context", "elements": elements}


def escape(text: str) -> str:
    """Slack's three control characters, escaped as its mrkdwn requires."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _api_error(exc: SlackApiError, *, now: int, started: float) -> AttemptResult:
    response = exc.response
    status = int(response.status_code)
    error = str(response.get("error") or f"HTTP {status}")
    message = f"Slack {error}" + (f" (HTTP {status})" if status != 200 else "")
    if status == 429 or status >= 500 or error in TRANSIENT_ERRORS:
        retry_after = retry_after_seconds(_header(response.headers, "retry-after"), now=now)
        return result(
            Outcome.RETRY, status=status, error=message, retry_after=retry_after, started=started
        )
    return result(Outcome.REJECTED, status=status, error=message, started=started)


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None

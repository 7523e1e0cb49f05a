"""The Slack parser: one stored Events API callback → ``ParsedInput``.

Pure: it reads the ``event_callback`` body the edge stored and the envelope the
edge recorded beside it (our bot's user and bot ids), and says what the event is
in the message's ``fields`` (``slack.kind`` and friends) so the ingest steps can
decide, without parsing again, whether it opens a ticket, joins one, revises an
earlier message or is noise. The sender is the Slack user as ``team:user``; the
conversation is the thread, ``team:channel:thread_ts`` (a top-level message is
the root of its own thread).

Kinds:

- ``message``: a person's message (plain, a file share, a thread broadcast, a
  ``/me``), and an ``app_mention`` of the same message;
- ``reaction``: a reaction on a message (the message itself is fetched later);
- ``edit`` / ``delete``: ``message_changed`` / ``message_deleted`` of an earlier message;
- ``noise``: joins, leaves, topic changes, our own posts; ``slack.noise`` says which.

Another app's bot message is a ``message`` with ``slack.bot`` set: settings decide.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from normalize.errors import Unparseable
from normalize.storable import storable
from normalize.types import InboundMessage, ParseContext, ParsedInput, Party, PartyKind

CHANNEL = "slack"

MESSAGE = "message"
REACTION = "reaction"
EDIT = "edit"
DELETE = "delete"
NOISE = "noise"

# Subtypes that are a person writing (https://api.slack.com/events/message#subtypes).
PERSON_SUBTYPES = frozenset({"", "file_share", "thread_broadcast", "me_message"})

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def parse_slack(raw: bytes, envelope: Mapping[str, Any], context: ParseContext) -> ParsedInput:
    """An ``event_callback`` from the Events API (over HTTP or Socket Mode)."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise Unparseable(f"not a JSON Slack event: {exc}") from None
    if not isinstance(body, dict) or body.get("type") != "event_callback":
        raise Unparseable("not a Slack event_callback")
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise Unparseable("a Slack event_callback without an event")
    team = _text(body.get("team_id")) or _text(event.get("team"))
    if not team:
        raise Unparseable("a Slack event without a team_id")
    if event["type"] == "reaction_added":
        return ParsedInput(_reaction(team, event))
    if event["type"] in {"message", "app_mention"}:
        return ParsedInput(_message(team, event, envelope))
    return ParsedInput(_noise(team, event, f"{event['type']} event"))


def _message(team: str, event: dict[str, Any], envelope: Mapping[str, Any]) -> InboundMessage:
    subtype = _text(event.get("subtype"))
    channel = _text(event.get("channel"))
    if subtype in {"message_changed", "message_deleted"}:
        return _revision(team, channel, event, subtype)
    ours = {_text(envelope.get("bot_user_id")), _text(envelope.get("bot_id"))} - {""}
    if _text(event.get("user")) in ours or _text(event.get("bot_id")) in ours:
        return _noise(team, event, "our own post")
    # Another app's bot: kept as a message marked ``slack.bot``; settings decide.
    bot_id = _text(event.get("bot_id"))
    if subtype not in PERSON_SUBTYPES and subtype != "bot_message":
        return _noise(team, event, f"message subtype {subtype}")
    ts = _text(event.get("ts"))
    user = _text(event.get("user")) or bot_id
    if not (channel and ts and user):
        raise Unparseable("a Slack message without channel, ts or user")
    thread_ts = _text(event.get("thread_ts")) or ts
    text = plain_text(_text(event.get("text")))
    mention = event["type"] == "app_mention"
    user_team = _text(event.get("user_team")) or _text(event.get("team")) or team
    fields = {
        "slack.kind": MESSAGE,
        "slack.team": team,
        "slack.channel": channel,
        "slack.channel_type": _text(event.get("channel_type")),
        "slack.ts": ts,
        "slack.thread_ts": thread_ts,
        "slack.user": user,
        "slack.user_team": user_team,
        "slack.mention": "yes" if mention else "",
        "slack.bot": bot_id,
        "slack.files": json.dumps(_files(event)),
    }
    return InboundMessage(
        channel=CHANNEL,
        external_id=f"{channel}:{ts}",
        sender=Party(PartyKind.SLACK, f"{user_team}:{user}", verified=True),
        subject=_subject(text),
        body_text=text,
        body_full=text,
        conversation_key=f"{team}:{channel}:{thread_ts}",
        fields=tuple(fields.items()),
    )


def _reaction(team: str, event: dict[str, Any]) -> InboundMessage:
    item = event.get("item") if isinstance(event.get("item"), dict) else {}
    assert isinstance(item, dict)
    channel, ts = _text(item.get("channel")), _text(item.get("ts"))
    if item.get("type") != "message" or not (channel and ts):
        return _noise(team, event, "a reaction on something other than a message")
    author = _text(event.get("item_user"))
    fields = {
        "slack.kind": REACTION,
        "slack.team": team,
        "slack.channel": channel,
        "slack.ts": ts,
        "slack.thread_ts": ts,
        "slack.reaction": _text(event.get("reaction")),
        "slack.reacted_by": _text(event.get("user")),
    }
    return InboundMessage(
        channel=CHANNEL,
        external_id=f"{channel}:{ts}",
        # The message's author; the message itself is read from Slack before threading.
        sender=Party(PartyKind.SLACK, f"{team}:{author}", verified=True),
        subject="",
        body_text="",
        body_full="",
        conversation_key=f"{team}:{channel}:{ts}",
        fields=tuple(fields.items()),
    )


def _revision(team: str, channel: str, event: dict[str, Any], subtype: str) -> InboundMessage:
    current = event.get("message") if isinstance(event.get("message"), dict) else {}
    previous = event.get("previous_message")
    previous = previous if isinstance(previous, dict) else {}
    assert isinstance(current, dict)
    ts = _text(event.get("deleted_ts")) or _text(current.get("ts")) or _text(previous.get("ts"))
    if not (channel and ts):
        raise Unparseable(f"a Slack {subtype} without channel or ts")
    kind = DELETE if subtype == "message_deleted" else EDIT
    user = _text(current.get("user")) or _text(previous.get("user"))
    text = plain_text(_text(current.get("text"))) if kind == EDIT else ""
    fields = {
        "slack.kind": kind,
        "slack.team": team,
        "slack.channel": channel,
        "slack.ts": ts,
        "slack.event_ts": _text(event.get("event_ts")) or _text(event.get("ts")),
    }
    return InboundMessage(
        channel=CHANNEL,
        external_id=f"{channel}:{ts}",
        sender=Party(PartyKind.SLACK, f"{team}:{user}", verified=True),
        subject="",
        body_text=text,
        body_full=text,
        fields=tuple(fields.items()),
    )


def _noise(team: str, event: dict[str, Any], reason: str) -> InboundMessage:
    channel = _text(event.get("channel"))
    return InboundMessage(
        channel=CHANNEL,
        external_id=f"{channel}:{_text(event.get('ts')) or _text(event.get('event_ts'))}",
        sender=Party(PartyKind.SLACK, f"{team}:{_text(event.get('user'))}"),
        subject="",
        body_text="",
        body_full="",
        fields=(("slack.kind", NOISE), ("slack.noise", reason)),
    )


def _files(event: dict[str, Any]) -> list[dict[str, Any]]:
    files = event.get("files")
    if not isinstance(files, list):
        return []
    return [
        {
            "id": _text(f.get("id")),
            "name": _text(f.get("name")) or _text(f.get("title")) or "file",
            "mimetype": _text(f.get("mimetype")) or "application/octet-stream",
            "size": f.get("size") if isinstance(f.get("size"), int) else None,
            "url_private": _text(f.get("url_private_download")) or _text(f.get("url_private")),
        }
        for f in files
        if isinstance(f, dict) and f.get("id")
    ]


def plain_text(mrkdwn: str) -> str:
    """Slack's message text as plain text: ``<url|label>`` links and ``&amp;`` escapes
    undone (https://api.slack.com/reference/surfaces/formatting#escaping)."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "#", "!")):
            return f"<{target}>" if label is None else label
        return target if not label or label == target else f"{label} ({target})"

    return html.unescape(_LINK.sub(link, mrkdwn))


def _subject(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:120] or "Slack message"


def _text(value: object) -> str:
    return storable(value) if isinstance(value, str) else ""


def message_key(team: str, channel: str, ts: str) -> str:
    """The dedupe key of a Slack message: one message, however many events name it."""
    return f"slack:{team}:{channel}:{ts}"


def fields_of(message: InboundMessage) -> dict[str, str]:
    """The ``slack.*`` fields of a parsed Slack message, by name."""
    return dict(message.fields)

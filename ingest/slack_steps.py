"""The Slack part of ingest: what becomes a ticket, what joins one, what is kept as a
revision, and what is noise. Runs before threading (:mod:`ingest.channel_steps`).

A top-level message opens a ticket when it is a DM to the app, is in a support
channel, @mentions the app, or carries the ticket reaction; a reply in the thread of
a ticket's message joins that ticket (threading by conversation key does that).
Our own posts, joins and leaves, other bots (unless accepted) and messages that are
in no support conversation are finished as ``ignored`` with the reason. An edit or
delete of a message on a ticket becomes a revision of that message, never a new one.

Slack's events can be processed out of order; a thread reply, an edit or a delete
whose message is stored but not processed yet waits for it (``Defer``, bounded by
``OMNIROUTE_THREAD_WAIT_SECONDS``), so it is never ignored for arriving first.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from ingest.events import record_event
from ingest.models import InboundRecord, Message, MessageRevision, utcnow
from ingest.signals import Defer
from ingest.ticket_messages import IngestOutcome, finish
from normalize.slack import DELETE, EDIT, MESSAGE, NOISE, REACTION, fields_of, message_key
from normalize.types import InboundMessage, ParsedInput

DELETED_WARNING = "deleted by the sender on Slack"

# What opened a ticket (``slack.trigger`` on the message's fields).
DM, SUPPORT_CHANNEL, MENTION, REACTION_TRIGGER = "dm", "support-channel", "mention", "reaction"


def before_thread(
    session: Session, record: InboundRecord, parsed: ParsedInput, settings: Settings
) -> IngestOutcome | None:
    """Finish the record here (noise, revision, not a ticket) or return None to go on."""
    msg = parsed.message
    fields = fields_of(msg)
    kind = fields.get("slack.kind")
    if kind in {EDIT, DELETE}:
        _wait_for(session, record, fields, fields.get("slack.ts", ""), settings)
        return _revise(session, record, msg, kind)
    if kind == MESSAGE and fields.get("slack.thread_ts") != fields.get("slack.ts"):
        _wait_for(session, record, fields, fields.get("slack.thread_ts", ""), settings)
    reason = ignore_reason(session, msg, settings)
    return finish(record, "ignored", reason) if reason is not None else None


def ignore_reason(session: Session, msg: InboundMessage, settings: Settings) -> str | None:
    """Why this message or reaction does not reach a ticket, or None when it does."""
    fields = fields_of(msg)
    kind = fields.get("slack.kind")
    if kind == NOISE:
        return fields.get("slack.noise") or "not a message"
    if kind not in {MESSAGE, REACTION}:
        return f"unknown Slack event kind {kind!r}"
    if fields.get("slack.skip"):
        return fields["slack.skip"]
    bot = fields.get("slack.bot")
    if bot and bot not in settings.slack_accept_bots:
        return f"a bot's message ({bot})"
    if _our_post(session, msg.external_id):
        return "our own post"
    if _on_ticket(session, msg.external_id):
        return "already on a ticket"
    key = msg.conversation_key
    in_thread = fields.get("slack.thread_ts") != fields.get("slack.ts")
    if in_thread and key is not None and _conversation_has_ticket(session, key):
        return None
    if trigger(msg, settings) is not None:
        return None
    if in_thread:
        return "a thread reply outside any ticket's thread"
    return "not in a support conversation (no DM, support channel, mention or reaction)"


def trigger(msg: InboundMessage, settings: Settings) -> str | None:
    """What makes this Slack message open a ticket, if anything."""
    fields = fields_of(msg)
    if fields.get("slack.kind") == REACTION:
        wanted = settings.slack_ticket_reaction
        return REACTION_TRIGGER if wanted and fields.get("slack.reaction") == wanted else None
    if fields.get("slack.channel_type") == "im":
        return DM
    in_thread = fields.get("slack.thread_ts") != fields.get("slack.ts")
    if not in_thread and is_listed(
        settings.slack_support_channels, fields.get("slack.team", ""), fields["slack.channel"]
    ):
        return SUPPORT_CHANNEL
    if settings.slack_mentions and fields.get("slack.mention"):
        return MENTION
    return None


def is_listed(entries: tuple[str, ...], team: str, channel: str) -> bool:
    """Whether ``channel`` of ``team`` is among ``[TEAM:]CHANNEL`` entries."""
    return channel in entries or f"{team}:{channel}" in entries


def _wait_for(
    session: Session,
    record: InboundRecord,
    fields: dict[str, str],
    ts: str,
    settings: Settings,
) -> None:
    """Raise ``Defer`` while the message ``ts`` (a thread's root, an edited message) is
    stored but not processed; a record older than the wait goes on as if alone."""
    if utcnow() - record.received_at > timedelta(seconds=settings.thread_wait_seconds):
        return
    key = message_key(fields.get("slack.team", ""), fields.get("slack.channel", ""), ts)
    pending = session.execute(
        select(InboundRecord.id).where(
            InboundRecord.dedupe_key == key,
            InboundRecord.status == "pending",
            InboundRecord.id != record.id,
        )
    ).scalar_one_or_none()
    if pending is not None:
        raise Defer(1.0, f"waits for inbound {pending}, the Slack message it follows")


def _revise(
    session: Session, record: InboundRecord, msg: InboundMessage, kind: str
) -> IngestOutcome:
    message = session.execute(
        select(Message)
        .where(
            Message.channel == msg.channel,
            Message.direction == "inbound",
            Message.external_id == msg.external_id,
        )
        .order_by(Message.id)
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if message is None:
        return finish(record, "ignored", f"{kind} of a message on no ticket")
    previous = message.body_text
    session.add(
        MessageRevision(
            message_id=message.id,
            inbound_id=record.id,
            kind="deleted" if kind == DELETE else "edited",
            previous_text=previous,
            body_text=msg.body_text,
            changed_at=utcnow(),
        )
    )
    if kind == EDIT:
        message.body_text = msg.body_text
        message.body_full = msg.body_full
        note = f"message {message.id} edited by the sender on Slack"
    else:
        # The agent keeps the text the customer sent, marked as deleted.
        message.warnings = [*message.warnings, DELETED_WARNING]
        note = f"message {message.id} deleted by the sender on Slack"
    record_event(session, message.ticket, note)
    finish(record, "processed", None)
    return IngestOutcome("processed", ticket_id=message.ticket_id, message_id=message.id)


def _our_post(session: Session, external_id: str) -> bool:
    return _exists(session, external_id, "outbound")


def _on_ticket(session: Session, external_id: str) -> bool:
    return _exists(session, external_id, "inbound")


def _exists(session: Session, external_id: str, direction: str) -> bool:
    found = session.execute(
        select(Message.id)
        .where(
            Message.channel == "slack",
            Message.direction == direction,
            Message.external_id == external_id,
        )
        .limit(1)
    ).scalar_one_or_none()
    return found is not None


def _conversation_has_ticket(session: Session, key: str) -> bool:
    found = session.execute(
        select(Message.id).where(Message.conversation_key == key).limit(1)
    ).scalar_one_or_none()
    return found is not None

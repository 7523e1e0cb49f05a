"""Twilio's status callbacks: the delivery state of what we sent, found by its MessageSid.

Twilio reports ``queued``, ``sending``, ``sent``, ``delivered`` (WhatsApp also
``read``), ``undelivered`` and ``failed`` with an ``ErrorCode``. A state only
moves forward (a late ``sent`` never undoes ``delivered``); ``failed`` is final
and keeps Twilio's error. Callbacks never create tickets. A callback can arrive
before the send that it reports on has been recorded, so an unknown MessageSid
is retried for a while before it is dropped with a log line.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.statuses import OutboundState
from ingest.agent_reply import NOT_SENT
from ingest.identity import suppress
from ingest.models import Message, utcnow
from normalize.types import Party, PartyKind

log = logging.getLogger(__name__)

_STATES = {
    "accepted": OutboundState.QUEUED,
    "scheduled": OutboundState.QUEUED,
    "queued": OutboundState.QUEUED,
    "sending": OutboundState.SENDING,
    "sent": OutboundState.SENT,
    "delivered": OutboundState.DELIVERED,
    "read": OutboundState.DELIVERED,
    "undelivered": OutboundState.FAILED,
    "failed": OutboundState.FAILED,
    "canceled": OutboundState.FAILED,
}
_RANK: dict[str, int] = {
    OutboundState.QUEUED: 0,
    OutboundState.SENDING: 1,
    OutboundState.SENT: 2,
    OutboundState.DELIVERED: 3,
}
# How long a callback waits for the send it reports on to be recorded.
UNKNOWN_SID_PATIENCE = timedelta(minutes=10)
OPTED_OUT = "21610"


class SendNotRecordedYet(Exception):
    """The callback names a MessageSid no outbound message has (yet): try again later."""


def apply_status(
    session: Session, sid: str, status: str, error_code: str, received_at: datetime
) -> str:
    """Update the outbound message Twilio reports on; returns what happened."""
    state = _STATES.get(status.lower())
    if state is None:
        return f"ignored: status {status!r}"
    message = _sent_as(session, sid)
    if message is None:
        if utcnow() - received_at < UNKNOWN_SID_PATIENCE:
            raise SendNotRecordedYet(sid)
        log.warning("twilio status %s for unknown message %s dropped", status, sid)
        return "unknown message"
    current = message.delivery_state
    if current == OutboundState.FAILED:
        return str(current)
    if state == OutboundState.FAILED:
        reason = f"{status} (Twilio error {error_code})" if error_code else status
        message.delivery_state = OutboundState.FAILED
        message.delivery_error = reason
        message.warnings = [*message.warnings, NOT_SENT + reason]
        if error_code == OPTED_OUT:
            _suppress_recipient(session, message, reason)
        return str(state)
    if _RANK[state] > _RANK.get(str(current), -1):
        message.delivery_state = state
    return str(message.delivery_state)


def _sent_as(session: Session, sid: str) -> Message | None:
    """The outbound message Twilio calls ``sid`` (one of several for a long text)."""
    query = select(Message).where(Message.direction == "outbound").limit(1)
    found = session.execute(
        query.where(Message.external_id == sid).with_for_update()
    ).scalar_one_or_none()
    if found is not None:
        return found
    # A long text went as several messages: their SIDs are joined by spaces.
    return session.execute(
        query.where(Message.external_id.contains(sid, autoescape=True)).with_for_update()
    ).scalar_one_or_none()


def _suppress_recipient(session: Session, message: Message, reason: str) -> None:
    if message.recipient:
        suppress(session, Party(PartyKind.PHONE, message.recipient), reason)

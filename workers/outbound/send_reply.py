"""Send an agent's reply to the customer on the ticket's channel, once per reply.

Idempotent: the first run gives the reply a signed Message-ID and commits it before
anything is sent, and records it as the message's ``external_id`` once the relay took
the mail; a run that finds ``external_id`` set, or a ``not sent:`` warning, does
nothing. A run that dies between the relay and the record sends again with the same
Message-ID, which receiving clients show once.

A person wrote the reply, so the automated-send rate limit does not apply; an
address that bounces, one of our own addresses, or a channel without an outbound
adapter is never written to, and the reason is kept on the message.
"""

from __future__ import annotations

import logging
import smtplib

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from channels.email_out import MailTransport, new_message_id
from channels.email_reply import AgentReply, build_reply
from channels.recipients import accepts
from config.settings import Settings
from ingest.agent_reply import KIND, NOT_SENT, send_state
from ingest.db import unit_of_work
from ingest.identity import is_bouncing
from ingest.models import Message, Ticket
from normalize.references import signed_reply_address
from workers.delivery.planning import CUSTOMER_MESSAGE
from workers.errors import TransientError

log = logging.getLogger(__name__)

CHANNELS = frozenset({"email"})  # channels with an outbound adapter for replies


def send_reply(
    sessions: sessionmaker[Session], settings: Settings, transport: MailTransport, message_id: int
) -> str:
    """Send reply ``message_id`` unless it was sent or cannot be; returns where it stands."""
    with unit_of_work(sessions) as session:
        planned = _plan(session, settings, message_id)
    if isinstance(planned, str):
        return planned
    try:
        transport.send(build_reply(planned), settings.from_address, [planned.to_address])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = "; ".join(f"{code} {_text(why)}" for code, why in exc.recipients.values())
        return _not_sent(sessions, message_id, f"the relay refused the recipient ({codes})")
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientError(f"outbound mail failed: {exc}") from exc
    with unit_of_work(sessions) as session:
        message = session.get(Message, message_id, with_for_update=True)
        assert message is not None
        message.external_id = planned.message_id
    log.info("reply %s on ticket #%s sent", message_id, planned.ticket_number)
    return "sent"


def _plan(session: Session, settings: Settings, message_id: int) -> AgentReply | str:
    message = session.get(Message, message_id, with_for_update=True)
    if message is None or message.direction != "outbound" or message.kind != KIND:
        return "missing"
    state = send_state(message)
    if state != "queued":
        return state
    ticket = session.get(Ticket, message.ticket_id)
    assert ticket is not None
    reason = _refusal(session, settings, message)
    if reason is not None:
        message.warnings = [*message.warnings, NOT_SENT + reason]
        log.info("reply %s on ticket #%s not sent: %s", message.id, ticket.id, reason)
        return "not sent"
    assert message.recipient is not None
    if message.message_id_header is None:
        # Committed before the send: a second run uses the same id.
        message.message_id_header = new_message_id(
            settings.signing_key, settings.smtp_hostname, ticket.id
        )
    parent, references = _thread(session, message)
    return AgentReply(
        ticket_number=ticket.id,
        author=message.sender,
        body=message.body_text,
        subject=ticket.subject,
        to_address=message.recipient,
        to_name=ticket.customer.name,
        message_id=message.message_id_header,
        in_reply_to=parent,
        references=references,
        from_address=settings.from_address,
        from_name=settings.support_name,
        reply_to=signed_reply_address(settings.signing_key, settings.from_address, ticket.id),
    )


def _refusal(session: Session, settings: Settings, message: Message) -> str | None:
    recipient = message.recipient
    if message.channel not in CHANNELS:
        return f"no outbound adapter for channel {message.channel!r}"
    if not recipient:
        return "the customer has no address to reply to"
    if accepts(recipient, settings.recipients) or recipient == settings.from_address:
        return "the recipient is one of our own addresses"
    if is_bouncing(session, recipient):
        return "the customer's address bounces"
    return None


def _thread(session: Session, reply: Message) -> tuple[str | None, tuple[str, ...]]:
    """The customer's last message (In-Reply-To) and the earlier ids of the conversation."""
    rows = session.execute(
        select(Message.direction, Message.message_id_header)
        .where(
            Message.ticket_id == reply.ticket_id,
            Message.id < reply.id,
            Message.message_id_header.is_not(None),
            or_(
                and_(Message.direction == "inbound", Message.kind == CUSTOMER_MESSAGE),
                and_(Message.direction == "outbound", Message.external_id.is_not(None)),
            ),
        )
        .order_by(Message.id)
    ).all()
    ids = [str(header) for _, header in rows]
    customer = [str(header) for direction, header in rows if direction == "inbound"]
    parent = customer[-1] if customer else None
    return parent, tuple(i for i in ids if i != parent)


def _not_sent(sessions: sessionmaker[Session], message_id: int, reason: str) -> str:
    with unit_of_work(sessions) as session:
        message = session.get(Message, message_id, with_for_update=True)
        assert message is not None
        message.warnings = [*message.warnings, NOT_SENT + reason]
    log.info("reply %s not sent: %s", message_id, reason)
    return "not sent"


def _text(why: bytes | str) -> str:
    return why.decode("utf-8", "replace") if isinstance(why, bytes) else why

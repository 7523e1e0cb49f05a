"""Acknowledge a new ticket to the customer, once, and never to a machine.

Loop protection (DESIGN.md contract 5): no acknowledgement to mail that looks
automated, to our own addresses, or past the per-recipient limit shared by every
automated send.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.email_out import (
    Acknowledgement,
    MailTransport,
    build_acknowledgement,
    new_message_id,
)
from channels.recipients import accepts
from config.settings import Settings
from ingest.db import unit_of_work
from ingest.identity import is_bouncing
from ingest.models import AutomatedSend, Message, Ticket, utcnow
from ingest.queries import first_inbound
from normalize.references import signed_reply_address
from workers.errors import TransientError

log = logging.getLogger(__name__)

PURPOSE = "acknowledgement"


@dataclass(frozen=True, slots=True)
class PlannedAck:
    send_id: int
    ack: Acknowledgement


def acknowledge(
    sessions: sessionmaker[Session], settings: Settings, transport: MailTransport, ticket_id: int
) -> str:
    """Send (or decide not to send) the acknowledgement; returns the send's status."""
    with unit_of_work(sessions) as session:
        planned = _plan(session, settings, ticket_id)
    if isinstance(planned, str):
        return planned
    message = build_acknowledgement(planned.ack)
    try:
        transport.send(message, settings.from_address, [planned.ack.to_address])
    except smtplib.SMTPRecipientsRefused as exc:
        return _finish(sessions, planned.send_id, "suppressed", f"relay refused recipient: {exc}")
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientError(f"outbound mail failed: {exc}") from exc
    return _finish(sessions, planned.send_id, "sent", None)


def _plan(session: Session, settings: Settings, ticket_id: int) -> PlannedAck | str:
    ticket = session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is None:
        return "missing"
    existing = session.execute(
        select(AutomatedSend).where(
            AutomatedSend.ticket_id == ticket_id, AutomatedSend.purpose == PURPOSE
        )
    ).scalar_one_or_none()
    if existing is not None and existing.status != "sending":
        return existing.status
    first = first_inbound(session, ticket_id)
    assert first is not None, f"ticket #{ticket_id} has no inbound message"
    recipient = first.sender
    if existing is None:
        reason = _suppression_reason(session, settings, first, recipient)
        existing = AutomatedSend(
            ticket_id=ticket_id,
            purpose=PURPOSE,
            recipient=recipient,
            status="suppressed" if reason else "sending",
            reason=reason,
            message_id_header=None
            if reason
            else new_message_id(settings.signing_key, settings.smtp_hostname, ticket.id),
        )
        session.add(existing)
        session.flush()
        if reason:
            log.info("acknowledgement for ticket #%s suppressed: %s", ticket.id, reason)
            return existing.status
        session.add(
            Message(
                ticket_id=ticket.id,
                direction="outbound",
                kind="acknowledgement",
                channel="email",
                external_id=existing.message_id_header,
                message_id_header=existing.message_id_header,
                sender=settings.from_address,
                recipient=recipient,
                subject=ticket.subject,
                thread_signal="outbound",
            )
        )
    assert existing.message_id_header is not None
    return PlannedAck(
        send_id=existing.id,
        ack=Acknowledgement(
            ticket_number=ticket.id,
            to_address=recipient,
            to_name=ticket.customer.name,
            subject=first.subject,
            in_reply_to=first.message_id_header,
            references=(),
            message_id=existing.message_id_header,
            from_address=settings.from_address,
            from_name=settings.support_name,
            reply_to=signed_reply_address(settings.signing_key, settings.from_address, ticket.id),
        ),
    )


def _suppression_reason(
    session: Session, settings: Settings, first: Message, recipient: str
) -> str | None:
    if first.channel != "email":
        return f"no acknowledgement on channel {first.channel}"
    if first.auto_reasons:
        return "automated mail: " + ", ".join(str(r) for r in first.auto_reasons)
    if accepts(recipient, settings.recipients) or recipient == settings.from_address:
        return "recipient is one of our own addresses"
    if is_bouncing(session, recipient):
        return "recipient address is bouncing"
    since = utcnow() - timedelta(hours=1)
    recent = session.execute(
        select(func.count(AutomatedSend.id)).where(
            AutomatedSend.recipient == recipient,
            AutomatedSend.status.in_(("sent", "sending")),
            AutomatedSend.created_at >= since,
        )
    ).scalar_one()
    if recent >= settings.automated_sends_per_hour:
        return f"rate limit: {recent} automated sends to this address in the last hour"
    return None


def _finish(sessions: sessionmaker[Session], send_id: int, status: str, reason: str | None) -> str:
    with unit_of_work(sessions) as session:
        send = session.get(AutomatedSend, send_id)
        assert send is not None
        send.status = status
        send.reason = reason
        send.sent_at = utcnow() if status == "sent" else None
    return status

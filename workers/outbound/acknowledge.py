"""Acknowledge a new ticket to the customer, once, on their channel, and never to a machine.

Loop protection (DESIGN.md contract 5): no acknowledgement to input that looks
automated, to our own addresses, to an identity that bounces or opted out, on a
channel whose acknowledgements are off, or past the per-recipient limit shared by
every automated send on every channel. The text comes from the templates
(:mod:`workers.outbound.templates`) in the ticket's language and is stored on the
outbound message, which keeps its delivery state like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from channels.outbound import OutboundText, ReplySender
from channels.webforms.links import follow_up_link
from config.settings import Settings
from config.statuses import OutboundState
from ingest.db import TAKE_TURNS, unit_of_work
from ingest.identity import is_bouncing, normalized_value, suppression_of
from ingest.models import AutomatedSend, Identity, Message, Ticket, utcnow
from ingest.opened import Opened
from ingest.queries import first_inbound, inbound_envelope
from ingest.rows import insert_loaded, locked
from normalize.types import Party, PartyKind
from workers.outbound.send import ReadyToSend, prepare_send, recipient_of
from workers.outbound.send import deliver as deliver_ready
from workers.outbound.templates import AckValues, render_acknowledgement
from workers.triage.facts import language_of

log = logging.getLogger(__name__)

PURPOSE = "acknowledgement"


# A customer-visible link per channel (the web channel's follow-up page), if any.
LinkFor = Callable[[Settings, int], str]
_LINKS: dict[str, LinkFor] = {"web": follow_up_link}


# Automated sends to one recipient since a time, counted for every new ticket: built
# once, with bound parameters (building it costs more than running it).
_RECENT_SENDS = select(func.count(AutomatedSend.id)).where(
    AutomatedSend.recipient == bindparam("recipient"),
    AutomatedSend.status.in_(("sent", "sending")),
    AutomatedSend.created_at >= bindparam("since"),
)


# How a send ended, on its row; built once and run as plain Core. Nothing in the
# session reads the row after this, so the ORM need not bring loaded copies up to date.
_SEND_ROW = update(AutomatedSend).where(
    AutomatedSend.ticket_id == bindparam("ticket"), AutomatedSend.purpose == PURPOSE
)
_SENT = _SEND_ROW.values(status=bindparam("status"), sent_at=bindparam("sent_at"))
_SUPPRESSED = _SEND_ROW.values(status=bindparam("status"), reason=bindparam("reason"))


def register_link(channel: str, link_for: LinkFor) -> None:
    """Give ``channel``'s acknowledgements a ``$link`` (e.g. a signed follow-up page)."""
    _LINKS[channel] = link_for


def acknowledge(
    sessions: sessionmaker[Session],
    settings: Settings,
    senders: Mapping[str, ReplySender],
    ticket_id: int,
    finish: Callable[[Session], None] | None = None,
) -> str:
    """Send (or decide not to send) the acknowledgement; returns the send's status.

    ``finish`` runs in the transaction that records the outcome (marking the work done).
    """
    ack = AcknowledgementSend(settings, senders, ticket_id, finish)
    with unit_of_work(sessions) as session:
        ready = ack.prepare(session)
    return ack.deliver(sessions, ready)


@dataclass
class AcknowledgementSend:
    """One acknowledgement's send in two halves: ``prepare`` in a transaction (the
    caller's own, such as the one that opened the ticket), ``deliver`` after its commit.

    ``finish`` runs in the transaction that records the outcome (marking the work done).
    """

    settings: Settings
    senders: Mapping[str, ReplySender]
    ticket_id: int
    finish: Callable[[Session], None] | None = None
    outcome: list[str] = field(default_factory=list)
    # Set when the caller's transaction opened the ticket and planned this message
    # (``plan_opened``): nothing needs to be read again, or locked, to prepare it.
    planned: PlannedAck | None = None

    def prepare(self, session: Session) -> ReadyToSend | str:
        planned = self.planned
        if planned is None:
            return prepare_send(session, self.senders, self._plan, _ack_text, after=self._record)
        return prepare_send(
            session,
            self.senders,
            planned.message,
            planned.text,
            after=self._record,
            recipient=planned.recipient,
        )

    def deliver(self, sessions: sessionmaker[Session], ready: ReadyToSend | str) -> str:
        if isinstance(ready, str):
            state = ready
        else:
            state = deliver_ready(sessions, self.senders, ready, after=self._record)
        return self.outcome[-1] if self.outcome else state

    def _plan(self, session: Session) -> int | str:
        planned = plan_acknowledgement(session, self.settings, self.senders, self.ticket_id)
        if isinstance(planned, str) and self.finish is not None:
            self.finish(session)
        return planned

    def _record(self, session: Session, message_id: int, state: str) -> None:
        if state == OutboundState.FAILED:
            error = session.execute(
                select(Message.delivery_error).where(Message.id == message_id)
            ).scalar_one()
            values: dict[str, object] = {"status": "suppressed", "reason": error}
            statement = _SUPPRESSED
        else:
            values = {"status": "sent", "sent_at": utcnow()}
            statement = _SENT
        session.connection().execute(statement, {"ticket": self.ticket_id, **values})
        self.outcome.append(str(values["status"]))
        if self.finish is not None:
            self.finish(session)


def plan_acknowledgement(
    session: Session,
    settings: Settings,
    senders: Mapping[str, ReplySender],
    ticket_id: int,
    opened: Opened | None = None,
) -> int | str:
    """The acknowledgement message to send (its id), or the recorded status (suppressed…).

    Runs in the caller's transaction: inline after triage, or in the actor. ``opened``:
    the ticket was opened in this transaction, so it has no acknowledgement yet."""
    if opened is not None:
        planned = plan_opened(session, settings, senders, opened)
        return planned.message.id if isinstance(planned, PlannedAck) else planned
    found = session.get(Ticket, ticket_id, with_for_update=TAKE_TURNS)
    if found is None:
        return "missing"
    existing = session.execute(
        select(AutomatedSend).where(
            AutomatedSend.ticket_id == ticket_id, AutomatedSend.purpose == PURPOSE
        )
    ).scalar_one_or_none()
    if existing is not None and existing.status != "sending":
        return existing.status
    if existing is not None:
        return _ack_message_id(session, ticket_id)
    first = first_inbound(session, ticket_id)
    assert first is not None, f"ticket #{ticket_id} has no inbound message"
    planned = plan_opened(session, settings, senders, Opened(found, first))
    return planned.message.id if isinstance(planned, PlannedAck) else planned


@dataclass(frozen=True, slots=True)
class PlannedAck:
    """An acknowledgement planned in the current transaction, with what its text needs."""

    message: Message
    opened: Opened
    recipient: Party

    def text(
        self, session: Session, message: Message, ticket: Ticket, recipient: Party
    ) -> OutboundText:
        """``_ack_text`` from what planning had: the ticket's only inbound message is the
        first, so the customer last wrote when it arrived."""
        first = self.opened.first
        return replace(
            _text_of(message, ticket, recipient, first), customer_wrote_at=first.created_at
        )


def plan_opened(
    session: Session, settings: Settings, senders: Mapping[str, ReplySender], opened: Opened
) -> PlannedAck | str:
    """Plan the acknowledgement of a ticket with no acknowledgement yet: its queued
    message, or the status recorded instead (suppressed…)."""
    ticket, first = opened.ticket, opened.first
    ticket_id = ticket.id
    recipient = recipient_of(session, first, ticket)
    sender = senders.get(first.channel)
    reason = _suppression_reason(session, settings, first, recipient, sender)
    send = {
        "ticket_id": ticket_id,
        "purpose": PURPOSE,
        "recipient": recipient.value if recipient is not None else "",
        "status": "suppressed" if reason else "sending",
        "reason": reason,
    }
    if reason is not None or sender is None or recipient is None:
        log.info("acknowledgement for ticket #%s suppressed: %s", ticket.id, reason)
        return insert_loaded(session, AutomatedSend, send).status
    reference = sender.reference(ticket.id)
    insert_loaded(session, AutomatedSend, {**send, "message_id_header": reference})
    language = ticket.language or language_of(ticket.subject, first.body_text)
    link_for = _LINKS.get(first.channel)
    body = render_acknowledgement(
        first.channel,
        language,
        AckValues(
            number=ticket.id,
            subject=first.subject,
            name=ticket.customer.name,
            support_name=settings.support_name,
            link=link_for(settings, ticket.id) if link_for is not None else "",
        ),
        settings.templates_dir,
    )
    message = insert_loaded(
        session,
        Message,
        {
            "ticket_id": ticket.id,
            "direction": "outbound",
            "kind": PURPOSE,
            "channel": first.channel,
            "external_id": reference,
            "message_id_header": reference,
            "sender": settings.from_address,
            "identity_id": first.identity_id,
            "recipient": recipient.value,
            "conversation_key": first.conversation_key,
            "subject": ticket.subject,
            "body_text": body,
            "body_full": body,
            "thread_signal": "outbound",
            "delivery_state": OutboundState.QUEUED,
        },
    )
    return PlannedAck(message, opened, recipient)


def _ack_message_id(session: Session, ticket_id: int) -> int | str:
    found = session.execute(
        select(Message.id)
        .where(
            Message.ticket_id == ticket_id,
            Message.direction == "outbound",
            Message.kind == PURPOSE,
        )
        .order_by(Message.id)
        .limit(1)
    ).scalar_one_or_none()
    return found if found is not None else "missing"


def _ack_text(session: Session, message: Message, ticket: Ticket, recipient: Party) -> OutboundText:
    first = first_inbound(session, ticket.id)
    assert first is not None
    return _text_of(message, ticket, recipient, first)


def _text_of(message: Message, ticket: Ticket, recipient: Party, first: Message) -> OutboundText:
    return OutboundText(
        ticket_number=ticket.id,
        purpose=PURPOSE,
        recipient=recipient,
        subject=first.subject,
        body=message.body_text,
        conversation_key=message.conversation_key,
        reference=message.message_id_header,
        in_reply_to=first.message_id_header,
    )


def _declined_at_the_edge(session: Session, first: Message) -> str | None:
    """The edge stored ``"acknowledge": false`` with the input (a form that sends none)."""
    if first.inbound_id is None:
        return None
    envelope = inbound_envelope(session, first.inbound_id)
    if not envelope or envelope.get("acknowledge") is not False:
        return None
    form = envelope.get("form")
    return f"form {form} sends no acknowledgement" if form else "the edge asked for none"


def _suppression_reason(
    session: Session,
    settings: Settings,
    first: Message,
    recipient: Party | None,
    sender: ReplySender | None,
) -> str | None:
    if first.channel not in settings.acknowledge_channels or sender is None:
        return f"no acknowledgement on channel {first.channel}"
    declined = _declined_at_the_edge(session, first)
    if declined is not None:
        return declined
    if first.auto_reasons:
        return "automated mail: " + ", ".join(str(r) for r in first.auto_reasons)
    if recipient is None:
        return "the customer has no address to acknowledge"
    refusal = sender.refusal(recipient)
    if refusal is not None:
        return refusal
    own = _recipient_identity(session, first, recipient)
    if own is not None:
        # The recipient is the identity the customer wrote from: lock it (acknowledgements
        # to one recipient take turns here, so each count below sees the others' sends)
        # and read its suppression from the row just locked.
        if own.bouncing_since is not None:
            return "recipient address is bouncing"
    else:
        if is_bouncing(session, recipient.value):
            return "recipient address is bouncing"
        suppressed = suppression_of(session, recipient)
        if suppressed is not None:
            return f"recipient is suppressed: {suppressed}"
        if first.identity_id is not None:
            # Acknowledgements to one recipient take turns here, so each count sees the
            # others' sends (under read committed two workers would both pass the limit).
            locked(session, Identity, first.identity_id)
    since = utcnow() - timedelta(hours=1)
    recent = session.execute(
        _RECENT_SENDS, {"recipient": recipient.value, "since": since}
    ).scalar_one()
    if recent >= settings.automated_sends_per_hour:
        return f"rate limit: {recent} automated sends to this address in the last hour"
    return None


def _recipient_identity(session: Session, first: Message, recipient: Party) -> Identity | None:
    """The sender's email identity, locked and fresh, when it is the acknowledgement's
    recipient (other kinds also consult the email identity of the same address)."""
    if first.identity_id is None or recipient.kind is not PartyKind.EMAIL:
        return None
    identity = locked(session, Identity, first.identity_id)
    if identity is None or identity.kind != recipient.kind.value:
        return None
    if identity.value != normalized_value(identity.kind, recipient.value):
        return None
    return identity

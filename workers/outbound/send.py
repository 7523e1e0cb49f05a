"""Send one outbound message on its channel and keep its delivery state, once.

States: ``queued`` (stored, not tried), ``sending`` (a reference was given and
the send may have started), ``sent``, ``delivered`` (where the channel reports
it), ``failed`` (with the reason in ``delivery_error``). The network call happens
between two short transactions; the first gives the message the channel's
reference (an email's signed Message-ID) and marks it ``sending``, so a second
run after a crash sends the same message again rather than a different one.
A refusal by the channel is final; a temporary failure is raised as
``TransientError`` for Dramatiq to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import String, Update, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from channels.outbound import OutboundText, ReplySender, SendFailed, SendRefused
from config.statuses import OUTBOUND_FINAL, OutboundState
from ingest.agent_reply import NOT_SENT
from ingest.db import TAKE_TURNS, unit_of_work
from ingest.identity import suppress
from ingest.models import Identity, Message, Ticket
from ingest.rows import update_loaded
from normalize.types import Party, PartyKind
from workers.errors import TransientError

log = logging.getLogger(__name__)


# Builds the text to send from the locked message, its ticket and its recipient;
# returns a reason string instead when it must not be sent.
TextFor = Callable[[Session, Message, Ticket, Party], OutboundText | str]


# Picks the message to send inside the first transaction: its id, or a status when
# there is nothing to send.
Planner = Callable[[Session], int | str]
# Runs in the transaction that records how the send ended (message id, delivery state).
After = Callable[[Session, int, str], None]


@dataclass(frozen=True, slots=True)
class ReadyToSend:
    """A message marked ``sending`` with its reference, committed or about to be."""

    message_id: int
    channel: str
    text: OutboundText


def send_outbound(
    sessions: sessionmaker[Session],
    senders: Mapping[str, ReplySender],
    message_id: int | Planner,
    text_for: TextFor,
    after: After | None = None,
) -> str:
    """Send outbound message ``message_id``; returns its delivery state afterwards.

    ``message_id`` may be a planner that picks the message in the first transaction
    (a status it returns is returned as is). ``after`` joins the transaction that
    records the outcome, so a caller's own bookkeeping costs no transaction of its own.
    """
    with unit_of_work(sessions) as session:
        ready = prepare_send(session, senders, message_id, text_for, after)
    if isinstance(ready, str):
        return ready
    return deliver(sessions, senders, ready, after)


def prepare_send(
    session: Session,
    senders: Mapping[str, ReplySender],
    message_id: int | Message | Planner,
    text_for: TextFor,
    after: After | None = None,
    *,
    recipient: Party | None = None,
) -> ReadyToSend | str:
    """The first half of a send, in the caller's transaction: the message to send, or
    the state it ended in without a send (``after`` has then run).

    ``message_id`` may be the message itself when this transaction wrote it: no other
    transaction can see it, so it is neither read again nor locked; ``recipient`` is
    then who the caller addressed it to, if it knows (not read again either)."""
    chosen = message_id(session) if callable(message_id) else message_id
    if isinstance(chosen, str):
        return chosen
    if isinstance(chosen, Message):
        message: Message | None = chosen
        chosen_id = chosen.id
    else:
        message = session.get(Message, chosen, with_for_update=TAKE_TURNS)
        chosen_id = chosen
    planned = _prepare(session, senders, message, text_for, recipient)
    if isinstance(planned, str):
        if after is not None:
            after(session, chosen_id, planned)
        return planned
    channel, text = planned
    return ReadyToSend(chosen_id, channel, text)


def deliver(
    sessions: sessionmaker[Session],
    senders: Mapping[str, ReplySender],
    ready: ReadyToSend,
    after: After | None = None,
) -> str:
    """The second half, once ``ready`` is committed: the send and its outcome."""
    chosen, text = ready.message_id, ready.text
    try:
        sent = senders[ready.channel].send(text)
    except SendRefused as exc:
        state = mark_failed(sessions, chosen, exc.reason, suppress_recipient=exc.suppress)
        if after is not None:
            with unit_of_work(sessions) as session:
                after(session, chosen, state)
        return state
    except SendFailed as exc:
        # Still ``sending``; the reason shows until a retry succeeds or gives up.
        with unit_of_work(sessions) as session:
            _set_delivery(session, _STILL_SENDING, {"message_id": chosen, "error": str(exc)})
        raise TransientError(str(exc), exc.retry_after_seconds) from exc
    with unit_of_work(sessions) as session:
        _set_delivery(
            session,
            _SENT,
            {"message_id": chosen, "state": sent.state, "external_id": sent.external_id or None},
        )
        if after is not None:
            after(session, chosen, sent.state)
    log.info("%s %s on ticket #%s %s", text.purpose, chosen, text.ticket_number, sent.state)
    return sent.state


# How a send went, on its message, by one ``UPDATE`` built once (it also makes sends of
# the same message take turns, as reading it locked did): reading the whole message to
# change these columns cost more than the rest of the send's bookkeeping.
_SENT = (
    update(Message)
    .where(Message.id == bindparam("message_id"))
    .values(
        delivery_state=bindparam("state"),
        delivery_error=None,
        external_id=func.coalesce(bindparam("external_id", type_=String), Message.external_id),
    )
)
_STILL_SENDING = (
    update(Message)
    .where(Message.id == bindparam("message_id"))
    .values(delivery_error=bindparam("error"))
)


def _set_delivery(session: Session, statement: Update, values: dict[str, object]) -> None:
    changed = session.connection().execute(statement, values).rowcount
    if changed != 1:
        raise LookupError(f"outbound message {values['message_id']} is not in the store")


def _prepare(
    session: Session,
    senders: Mapping[str, ReplySender],
    message: Message | None,
    text_for: TextFor,
    known_recipient: Party | None,
) -> tuple[str, OutboundText] | str:
    if message is None or message.direction != "outbound":
        return "missing"
    if message.delivery_state in OUTBOUND_FINAL:
        return str(message.delivery_state)
    ticket = session.get(Ticket, message.ticket_id)
    assert ticket is not None
    sender = senders.get(message.channel)
    recipient = known_recipient or recipient_of(session, message, ticket)
    reason: str | None
    if sender is None:
        reason = f"no outbound adapter for channel {message.channel!r}"
    elif recipient is None:
        reason = "the customer has no address to reply to"
    else:
        reason = sender.refusal(recipient)
    if reason is None and sender is not None and recipient is not None:
        if message.message_id_header is None:
            # Committed before the send: a second run uses the same reference.
            update_loaded(message, {"message_id_header": sender.reference(ticket.id)})
        built = text_for(session, message, ticket, recipient)
        if isinstance(built, OutboundText):
            update_loaded(message, {"delivery_state": OutboundState.SENDING})
            if built.customer_wrote_at is None:
                built = replace(built, customer_wrote_at=customer_wrote_at(session, message))
            return message.channel, built
        reason = built
    assert reason is not None
    _fail(message, reason)
    log.info("outbound %s on ticket #%s not sent: %s", message.id, ticket.id, reason)
    return OutboundState.FAILED


def recipient_of(session: Session, message: Message, ticket: Ticket) -> Party | None:
    """Who an outbound message goes to: its identity, else the customer's email."""
    name = ticket.customer.name
    if message.identity_id is not None:
        identity = session.get(Identity, message.identity_id)
        if identity is not None:
            return Party(PartyKind(identity.kind), identity.value, name)
    if message.recipient:
        return Party(PartyKind.EMAIL, message.recipient, name)
    return None


def conversation_ids(session: Session, message: Message) -> tuple[str | None, tuple[str, ...]]:
    """The customer's last message on this channel (the parent) and the earlier ids."""
    rows = session.execute(
        select(Message.direction, Message.message_id_header)
        .where(
            Message.ticket_id == message.ticket_id,
            Message.id < message.id,
            Message.channel == message.channel,
            Message.message_id_header.is_not(None),
            or_(
                and_(Message.direction == "inbound", Message.kind == "message"),
                and_(Message.direction == "outbound", Message.external_id.is_not(None)),
            ),
        )
        .order_by(Message.id)
    ).all()
    ids = [str(header) for _, header in rows]
    customer = [str(header) for direction, header in rows if direction == "inbound"]
    parent = customer[-1] if customer else None
    return parent, tuple(i for i in ids if i != parent)


def customer_wrote_at(session: Session, message: Message) -> datetime | None:
    """When the customer last wrote in the outbound message's conversation (or channel)."""
    query = select(func.max(Message.created_at)).where(
        Message.ticket_id == message.ticket_id,
        Message.direction == "inbound",
        Message.channel == message.channel,
    )
    if message.conversation_key is not None:
        query = query.where(Message.conversation_key == message.conversation_key)
    return session.execute(query).scalar_one_or_none()


def mark_failed(
    sessions: sessionmaker[Session],
    message_id: int,
    reason: str,
    *,
    suppress_recipient: bool = False,
) -> str:
    with unit_of_work(sessions) as session:
        message = session.get(Message, message_id, with_for_update=TAKE_TURNS)
        assert message is not None
        _fail(message, reason)
        if suppress_recipient:
            # The channel says the recipient opted out with it: nothing more goes to them.
            ticket = session.get(Ticket, message.ticket_id)
            recipient = recipient_of(session, message, ticket) if ticket is not None else None
            if recipient is not None:
                suppress(session, recipient, reason)
    log.info("outbound %s not sent: %s", message_id, reason)
    return OutboundState.FAILED


def _fail(message: Message, reason: str) -> None:
    message.delivery_state = OutboundState.FAILED
    message.delivery_error = reason
    message.warnings = [*message.warnings, NOT_SENT + reason]

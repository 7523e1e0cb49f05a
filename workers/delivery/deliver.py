"""Deliver one planned hand-off: send it, record the attempt, schedule a retry or give up.

The network call happens between two short transactions so no lock is held while a
slow desk answers. The first transaction decides whether to run at all:

- a delivery that is final, scheduled for later, or in flight elsewhere is left alone
  (an in-flight one is looked at again when its lease ends, in case its worker died);
- a follow-up (``message.appended``, ``ticket.status_changed``) needs this
  destination's ``ticket.created`` delivery of the ticket: it waits, spending no
  attempt, while that one is not delivered yet, and is rejected with the reason
  when that one is rejected or dead. An escalation waits the same way when the
  ticket was handed to the destination, and stands alone otherwise;
- otherwise it records a ``started`` attempt, and hands the desk client a
  :class:`~workers.delivery.desks.handoff.Handoff`. ``seen_before`` tells the client that an
  earlier attempt may have reached the desk, so it looks before creating again.

The second transaction records the outcome on that attempt: delivered (with the
desk's id), rejected, retried with backoff, or dead after ``max_attempts``. A bug in a
client makes the delivery dead at once and is raised on, to be recorded with its
traceback (``omniroute deliveries retry`` sends it again once fixed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.destinations import AnyDestination, EmailDestination
from config.rules import RuleSet
from ingest import outbox
from ingest.blobs import BlobError, BlobStore, attachment_key
from ingest.db import TAKE_TURNS, unit_of_work
from ingest.models import Delivery, DeliveryAttempt, InboundRecord, Message, Ticket, utcnow
from ingest.queries import latest_decision
from workers.delivery.desks import registry
from workers.delivery.desks.base import AttemptResult, Outcome, backoff_seconds
from workers.delivery.desks.handoff import AttachmentFile, DeskContext, Handoff
from workers.delivery.payloads import handoff_document
from workers.delivery.planning import MESSAGE_APPENDED, STATUS_CHANGED, TICKET_CREATED

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"delivered", "rejected", "dead"})
FAILED_STATUSES = frozenset({"rejected", "dead"})
# Events about a ticket the destination must already have.
FOLLOW_UPS = frozenset({MESSAGE_APPENDED, STATUS_CHANGED})
STARTED = "started"
INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class PreparedDelivery:
    delivery_id: int
    attempt_id: int
    destination: AnyDestination
    handoff: Handoff


def lease_seconds(destination: AnyDestination) -> float:
    """How long one attempt may take before another run treats it as interrupted.

    Generous on purpose: an attempt is a few requests (a look-up, uploads, the call),
    each bounded by the timeout, and a second run while the first still works could
    create twice.
    """
    return destination.timeout_seconds * 10 + 60


def deliver(
    sessions: sessionmaker[Session], rules: RuleSet, delivery_id: int, context: DeskContext
) -> str | None:
    """Run one attempt if the delivery is due; returns the delivery's new status."""
    with unit_of_work(sessions) as session:
        prepared = _prepare(session, rules, delivery_id, context)
    if not isinstance(prepared, PreparedDelivery):
        return prepared
    try:
        handoff = load_attachments(prepared.handoff, context.blobs)
    except BlobError as exc:
        # Never hand off without an attachment the customer sent: this attempt fails,
        # is retried with backoff, and the delivery ends dead with the reason if the
        # blob never turns up (another host's disk, a store outage).
        log.warning("delivery %s: %s", prepared.delivery_id, exc)
        failed = AttemptResult(Outcome.RETRY, None, str(exc)[:2000], None, None, 0)
        with unit_of_work(sessions) as session:
            return _record(session, prepared, failed)
    try:
        result = registry.send(context, prepared.destination, handoff)
    except Exception as exc:
        # A bug, not a fault of the desk: the delivery is dead (retry it by hand once
        # fixed) and the exception goes on to be recorded with its traceback.
        error = f"bug: {type(exc).__name__}: {exc}"[:2000]
        with unit_of_work(sessions) as session:
            _record(session, prepared, AttemptResult(Outcome.REJECTED, None, error, None, None, 0))
            delivery = session.get(Delivery, prepared.delivery_id)
            attempt = session.get(DeliveryAttempt, prepared.attempt_id)
            assert delivery is not None and attempt is not None
            delivery.status = attempt.outcome = "dead"
        raise
    with unit_of_work(sessions) as session:
        return _record(session, prepared, result)


def _prepare(
    session: Session, rules: RuleSet, delivery_id: int, context: DeskContext
) -> PreparedDelivery | str | None:
    delivery = session.get(Delivery, delivery_id, with_for_update=TAKE_TURNS)
    if delivery is None:
        return None
    if delivery.status in FINAL_STATUSES:
        return delivery.status
    now = utcnow()
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        return delivery.status  # an early duplicate message; the scheduled run will do it
    destination = rules.destinations.get(delivery.destination)
    if destination is None:
        return _reject(delivery, f"destination {delivery.destination!r} is not configured")
    if not registry.takes(destination, delivery.event):
        kinds = ", ".join(sorted(registry.events(destination.type)))
        return _reject(
            delivery, f"{destination.type} destinations do not take {delivery.event} (only {kinds})"
        )
    started = _started_attempt(session, delivery.id)
    if started is not None:
        lease_end = started.attempted_at + timedelta(seconds=lease_seconds(destination))
        if lease_end > now:
            # In flight in another worker; look again when its lease ends in case it died.
            outbox.add_work(session, outbox.DELIVER, delay=lease_end - now, delivery_id=delivery.id)
            return delivery.status
        started.outcome = INTERRUPTED
        started.error = "no outcome recorded: the attempt was interrupted"
        delivery.attempts += 1
        if delivery.attempts >= destination.max_attempts:
            delivery.status = "dead"
            delivery.last_error = started.error
            return delivery.status
    parent: Delivery | None = None
    if delivery.event != TICKET_CREATED:
        parent = _created_delivery(session, delivery)
        waiting = _wait_for_parent(session, delivery, parent, destination, now)
        if waiting is not None:
            return waiting
        if parent is not None and parent.status in FAILED_STATUSES:
            parent = None  # an escalation stands alone when the ticket never got there
    handoff = _handoff(session, delivery, destination, parent, context)
    attempt = DeliveryAttempt(delivery_id=delivery.id, outcome=STARTED, attempted_at=now)
    session.add(attempt)
    session.flush()
    return PreparedDelivery(delivery.id, attempt.id, destination, handoff)


def _wait_for_parent(
    session: Session,
    delivery: Delivery,
    parent: Delivery | None,
    destination: AnyDestination,
    now: datetime,
) -> str | None:
    """A status when the delivery cannot run yet (waiting or rejected), else None."""
    if parent is None:
        if delivery.event in FOLLOW_UPS:
            return _reject(
                delivery,
                f"{delivery.destination!r} never got this ticket ({TICKET_CREATED} was not "
                "planned for it)",
            )
        return None
    if parent.status in FAILED_STATUSES:
        if delivery.event not in FOLLOW_UPS:
            return None
        why = f": {parent.last_error}" if parent.last_error else ""
        return _reject(
            delivery,
            f"the {TICKET_CREATED} delivery {parent.id} to {delivery.destination!r} is "
            f"{parent.status}{why}",
        )
    if parent.status == "delivered":
        if destination.type != "webhook" and not parent.external_id:
            return _reject(
                delivery,
                f"the {TICKET_CREATED} delivery {parent.id} recorded no external ticket id",
            )
        return None
    # Not delivered yet: try again later without spending an attempt.
    wait = destination.backoff_base_seconds
    if (
        parent.next_attempt_at is not None
        and parent.next_attempt_at > now
        and _started_attempt(session, parent.id) is None
    ):
        wait = max(wait, (parent.next_attempt_at - now).total_seconds() + wait)
    wait = min(wait, destination.backoff_max_seconds)
    delivery.next_attempt_at = now + timedelta(seconds=wait)
    delivery.updated_at = now
    outbox.add_work(session, outbox.DELIVER, delay=timedelta(seconds=wait), delivery_id=delivery.id)
    return delivery.status


def _reject(delivery: Delivery, reason: str) -> str:
    delivery.status = "rejected"
    delivery.last_error = reason
    delivery.next_attempt_at = None
    delivery.updated_at = utcnow()
    log.warning("delivery %s to %s rejected: %s", delivery.id, delivery.destination, reason)
    return delivery.status


def _started_attempt(session: Session, delivery_id: int) -> DeliveryAttempt | None:
    return session.execute(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == delivery_id, DeliveryAttempt.outcome == STARTED)
        .order_by(DeliveryAttempt.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _created_delivery(session: Session, delivery: Delivery) -> Delivery | None:
    """This destination's ``ticket.created`` delivery of the same ticket, if any."""
    return session.execute(
        select(Delivery)
        .where(
            Delivery.ticket_id == delivery.ticket_id,
            Delivery.destination == delivery.destination,
            Delivery.event == TICKET_CREATED,
        )
        .order_by(Delivery.id)
        .limit(1)
    ).scalar_one_or_none()


def _handoff(
    session: Session,
    delivery: Delivery,
    destination: AnyDestination,
    parent: Delivery | None,
    context: DeskContext,
) -> Handoff:
    ticket = session.get(Ticket, delivery.ticket_id)
    message = session.get(Message, delivery.message_id)
    assert ticket is not None and message is not None
    tried = session.execute(
        select(func.count(DeliveryAttempt.id)).where(DeliveryAttempt.delivery_id == delivery.id)
    ).scalar_one()
    raw, raw_blob = None, None
    if isinstance(destination, EmailDestination) and message.inbound_id is not None:
        record = session.get(InboundRecord, message.inbound_id)
        if record is not None and record.channel == "email":
            raw, raw_blob = (None, record.raw_blob) if record.raw_blob else (record.raw, None)
    parent_external_id = parent.external_id if parent is not None else None
    decision = latest_decision(session, ticket.id)
    return Handoff(
        delivery_id=delivery.id,
        event=delivery.event,
        idempotency_key=delivery.idempotency_key,
        attempt=delivery.attempts + 1,
        seen_before=int(tried) > 0,
        ticket_number=ticket.id,
        ticket_status=ticket.status,
        subject=ticket.subject,
        priority=ticket.priority,
        category=ticket.category,
        team=ticket.team,
        tags=tuple(str(tag) for tag in ticket.tags or ()),
        customer_name=ticket.customer.name,
        customer_email=ticket.customer.email,
        message_id=message.id,
        message_kind=message.kind,
        message_from=message.sender,
        message_subject=message.subject,
        message_id_header=message.message_id_header,
        body_text=message.body_text,
        received_at=message.created_at,
        planned_at=delivery.created_at,
        attachments=tuple(_attachment_files(message)),
        document=handoff_document(
            delivery.event,
            delivery.id,
            ticket,
            message,
            decision,
            external_ticket_id=parent_external_id,
        ),
        parent_external_id=parent_external_id,
        raw_message=raw,
        raw_message_blob=raw_blob,
    )


def _attachment_files(message: Message) -> list[AttachmentFile]:
    return [
        AttachmentFile(
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            key=None if attachment.refused_reason else attachment_key(attachment.sha256),
            refused_reason=attachment.refused_reason,
        )
        for attachment in message.attachments
    ]


def load_attachments(handoff: Handoff, blobs: BlobStore) -> Handoff:
    """The hand-off with every accepted attachment's bytes read from the blob store.

    Raises ``BlobError`` naming the attachment when one cannot be read. A large
    original mail stored as a blob is read here too.
    """
    if handoff.raw_message_blob is not None:
        original = _read_blob(blobs, handoff.raw_message_blob, "the original mail")
        handoff = replace(handoff, raw_message=original, raw_message_blob=None)
    if not any(a.key for a in handoff.attachments):
        return handoff
    loaded = []
    for attachment in handoff.attachments:
        if attachment.key is None:
            loaded.append(attachment)
            continue
        content = _read_blob(blobs, attachment.key, f"attachment {attachment.filename!r}")
        loaded.append(replace(attachment, content=content))
    return replace(handoff, attachments=tuple(loaded))


def _read_blob(blobs: BlobStore, key: str, what: str) -> bytes:
    """The blob's bytes; a ``BlobError`` of the same kind names ``what`` could not be read."""
    try:
        return blobs.get(key)
    except BlobError as exc:
        raise type(exc)(f"{what} cannot be read from {blobs.location}: {exc}") from exc


def _record(session: Session, prepared: PreparedDelivery, result: AttemptResult) -> str:
    delivery = session.get(Delivery, prepared.delivery_id, with_for_update=TAKE_TURNS)
    attempt = session.get(DeliveryAttempt, prepared.attempt_id)
    assert delivery is not None and attempt is not None
    now = utcnow()
    attempt.outcome = result.outcome.value
    attempt.status_code = result.status_code
    attempt.error = result.error
    attempt.duration_ms = result.duration_ms
    destination = prepared.destination
    delivery.attempts += 1
    delivery.updated_at = now
    delivery.last_error = result.error
    delivery.next_attempt_at = None
    if result.outcome is Outcome.DELIVERED:
        delivery.status = "delivered"
        delivery.external_id = result.external_id or delivery.external_id
    elif result.outcome is Outcome.REJECTED:
        delivery.status = "rejected"
    elif delivery.attempts >= destination.max_attempts:
        delivery.status = "dead"
    else:
        delay = backoff_seconds(
            delivery.attempts,
            destination.backoff_base_seconds,
            destination.backoff_max_seconds,
            result.retry_after_seconds,
        )
        delivery.status = "retrying"
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        outbox.add_work(
            session, outbox.DELIVER, delay=timedelta(seconds=delay), delivery_id=delivery.id
        )
    log.info(
        "delivery %s (%s) to %s: attempt %s %s (%s)",
        delivery.id,
        delivery.event,
        delivery.destination,
        delivery.attempts,
        delivery.status,
        result.error or result.status_code,
    )
    return delivery.status
